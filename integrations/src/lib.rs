//! Receive Bedrud webhooks (in progress).
