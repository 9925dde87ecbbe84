"""``edge service install|uninstall|status``: keep the edge running across reboots (systemd, Windows Task Scheduler)."""
