"""Shop-platform adapters: one module per platform over ``base.PlatformAdapter``, listed in ``registry``;
``service`` verifies, maps and records a delivery and stores each shop's adapter config."""
