"""Generated protobuf/gRPC code for the Faultline API (see ``make proto``)."""
