"""Grids of unit x training length x seed, run resumably into a SQLite results store."""

from rnnmem.sweep.cell import CellConfig, run_cell, train_and_assess
from rnnmem.sweep.executors import run_sweep
from rnnmem.sweep.grid import expand_grid, load_grid_file
from rnnmem.sweep.store import ResultsStore

__all__ = ["CellConfig", "ResultsStore", "expand_grid", "load_grid_file", "run_cell", "run_sweep", "train_and_assess"]
