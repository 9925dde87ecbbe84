"""AWS clients and the batched DynamoDB reads and writes every store uses."""
