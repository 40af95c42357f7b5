"""Performance Optimization (guide chapter): the guide's Database Optimization SQL run as
written (``database``), and whether its index builds let writers in (``index_locks``)."""
