"""tinydl.distributed: data-parallel training on MPI (the ``mpi`` extra)."""
