"""Running at scale: forked workers (n_process) and Ray Data."""
