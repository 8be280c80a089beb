"""Grids of unit x training length x seed, run resumably into a SQLite results store."""

from rnnmem.pipeline.config import RunConfig
from rnnmem.sweep.cell import run_cell
from rnnmem.sweep.executors import run_sweep
from rnnmem.sweep.grid import expand_grid, load_grid_file
from rnnmem.sweep.store import ResultsStore

__all__ = ["ResultsStore", "RunConfig", "expand_grid", "load_grid_file", "run_cell", "run_sweep"]
