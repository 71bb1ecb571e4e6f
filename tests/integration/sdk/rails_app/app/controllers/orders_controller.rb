# The checkout endpoint: it fails with OrderFailed, caused by PaymentGateway::CardDeclined.
class OrdersController < ActionController::API
  class OrderFailed < StandardError; end

  before_action :identify_shopper

  def checkout
    Sentry.set_tags("checkout.step" => "payment", "shop.region" => "eu")
    Sentry.add_breadcrumb(Sentry::Breadcrumb.new(
      category: "cart", message: "cart loaded", data: { "items" => 2 }, level: "info"
    ))
    begin
      PaymentGateway.charge(params[:id], params.require(:amount))
    rescue PaymentGateway::CardDeclined
      raise OrderFailed, "rails checkout of order #{params[:id]} failed"
    end
  end

  private

  def identify_shopper
    Sentry.set_user(id: "rails-user-3", email: "ada@example.com", username: "ada")
  end
end
