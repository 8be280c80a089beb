"""Bring your own model: adapters that give models rnnmem's protocol (see `rnnmem.assess`)."""

from rnnmem.adapters.huggingface import HuggingFaceAdapter, load_huggingface
from rnnmem.adapters.outputs import OutputAdapter, PrefixAdapter
from rnnmem.adapters.text import encode_texts

__all__ = ["OutputAdapter", "PrefixAdapter", "HuggingFaceAdapter", "load_huggingface", "encode_texts"]
