"""A twin of a Caspos Mobile register speaking its JSON API over HTTP."""
