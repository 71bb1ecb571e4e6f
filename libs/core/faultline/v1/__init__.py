"""Generated from proto/faultline/v1/*.proto by ``make proto``. Do not edit."""
