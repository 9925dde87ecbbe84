"""The one definition of the bridge's AWS resources (tables, queues, DLQs, IAM)."""
