"""The operator's page, ``GET /`` on the management port: what the person at the till needs at a glance (devices
and their warnings in words, backlog, last receipts) and the X and Z report buttons. Server-rendered HTML, no script."""
