# frozen_string_literal: true

require "timeout"

# A tiny order flow whose card payment fails: the failure is re-raised as an
# OrderFailed inside the rescue, so Ruby records the decline as its `cause`.
module Checkout
  class PaymentDeclined < StandardError; end
  class OrderFailed < StandardError; end

  class Order
    def initialize(run_id)
      @run_id = run_id
    end

    def place
      # Timeout is plain-Ruby stdlib, so the stack carries library frames next to ours.
      Timeout.timeout(5) { charge_card }
    rescue PaymentDeclined
      raise OrderFailed, "ruby place order #{@run_id} failed"
    end

    private

    def charge_card
      Sentry.add_breadcrumb(
        Sentry::Breadcrumb.new(category: "payment", message: "charging card", level: "info")
      )
      raise PaymentDeclined, "ruby card declined by issuer"
    end
  end
end
