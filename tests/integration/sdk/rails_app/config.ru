# A minimal Rails app reporting to Sentry with sentry-rails: `puma config.ru`.
require_relative "config/application"

run CheckoutShop::Application
