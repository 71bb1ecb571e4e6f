# The whole Rails application in one file: Sentry, the Rails config and the routes.
require "logger"
require "rails"
require "action_controller/railtie"
require "sentry-ruby"
require "sentry-rails"

# Sentry is configured before Rails initialises so sentry-rails' railtie hooks in.
Sentry.init do |config|
  config.dsn = ENV.fetch("SENTRY_DSN")
  config.send_default_pii = true
  config.release = "rails-shop@6.1.0"
  config.environment = "ci"
  config.server_name = "rails-web-1"
  config.breadcrumbs_logger = [:active_support_logger]
  # Send from the request thread: the event has left when the 500 response does.
  config.background_worker_threads = 0
  config.logger = Logger.new($stderr, level: Logger::WARN)
end

require_relative "../lib/payment_gateway"

module CheckoutShop
  class Application < Rails::Application
    config.root = File.expand_path("..", __dir__)
    config.eager_load = false
    config.secret_key_base = "faultline-rails-sdk-test-only"
    config.logger = Logger.new($stdout)
    config.log_level = :warn
    config.hosts.clear
    config.consider_all_requests_local = false
    config.action_dispatch.show_exceptions = true
    config.autoload_paths << File.expand_path("../app/controllers", __dir__)
  end
end

CheckoutShop::Application.initialize!

CheckoutShop::Application.routes.draw do
  get "/healthz", to: proc { [200, { "Content-Type" => "text/plain" }, ["ok"]] }
  post "/orders/:id/checkout", to: "orders#checkout"
end
