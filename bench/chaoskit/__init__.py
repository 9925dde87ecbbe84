"""Parts of the chaos bench (``bench/chaos.py``): network proxy, edge runner, injectors, checks."""
