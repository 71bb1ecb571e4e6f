# A stand-in payment provider whose card check fails: the cause of the chained error.
module PaymentGateway
  class CardDeclined < StandardError; end

  def self.charge(order_id, amount)
    Sentry.add_breadcrumb(Sentry::Breadcrumb.new(
      category: "payment", message: "charging #{amount} for order #{order_id}",
      data: { "amount" => amount }, level: "info"
    ))
    raise CardDeclined, "rails card declined for amount #{amount}"
  end
end
