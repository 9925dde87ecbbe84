"""The OpenAPI document of the whole API and the response models it describes."""
