"""``edge service install|uninstall|status``: keep the edge running across reboots (a systemd unit on Linux, an
SCM service hosted by python.exe through pywin32 on Windows)."""
