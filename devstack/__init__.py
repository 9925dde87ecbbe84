"""The local stack: moto, `chalice local`, the SQS pump, one edge, and the demo."""
