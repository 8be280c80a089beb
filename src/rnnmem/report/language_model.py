"""The language-model part of a report (`rnnmem assess --task lm`): perplexity and the context the model uses.

Renders ``report.language_model`` (a `LanguageModelResult`, written by `rnnmem.pipeline.lm`) beside the
report's occlusion ML(0.1), so the SES horizon stands next to its real-text reference.
"""

from __future__ import annotations

from rnnmem.report.blocks import Heading, Paragraph, Table
from rnnmem.report.format import memory_length_text, number


def _k_eff_text(k_eff, ks) -> str:
    return f"> {ks[-1]}" if k_eff is None else number(k_eff)


def _horizon(report) -> str:
    estimator = report.default_estimator()
    if estimator is None:
        return "not measured (no retention curve)"
    return f"{memory_length_text(report.memory_length(0.1, estimator), report.last_measured_distance(estimator))} ({estimator})"


def language_model_blocks(report) -> list:
    """Heading, perplexities, and the effective contexts beside ML(0.1); [] for a classifier's report."""
    lm = report.language_model
    if lm is None:
        return []
    ks, eff = lm.ks, lm.effective_context
    rows = [[name, _k_eff_text(eff[name], ks), " ".join(f"{rise:.3f}" for rise in lm.rise[name][:5])]
            for name in lm.rise]
    return [
        Heading("Language model: the context it uses"),
        Paragraph(f"Test perplexity {number(lm.test_perplexity)} against {number(lm.unigram_perplexity)} for "
                  f"an add-one unigram model (epoch {lm.best_epoch} kept). On {lm.targets} held-out targets the "
                  f"loss with the full context is {lm.full_loss:.3f} nats; effective context k_eff = the smallest k "
                  f"from which the rise in loss stays within {lm.tolerance:.0%} of it when the context is cut to "
                  f"the last k tokens (or shuffled / replaced beyond them), k = {', '.join(map(str, ks))}."),
        Table(["perturbation", "k_eff", f"rise at k = {', '.join(map(str, ks[:5]))} (nats)"], rows, ["l", "r", "l"]),
        Paragraph(f"Cut: k_eff interpolated in log k {_k_eff_text(lm.effective_context_interpolated, ks)}, context "
                  f"area {lm.context_area:.2f} nats x tokens; beside it the SES horizon ML(0.1) {_horizon(report)}. "
                  "Occlusion, shuffle and replace change far words inside the running sequence; the cut also restarts "
                  "the state from its initial value, so its k_eff includes that cold start (docs/lm_context.md: "
                  "across units ML(0.1) follows shuffle and replace, not the cut)."),
    ]


def language_model_summary(report) -> str:
    """One CLI line: perplexity against the unigram and the effective contexts beside ML(0.1)."""
    lm = report.language_model
    eff = lm.effective_context
    return (f"language model: test perplexity {number(lm.test_perplexity)} (unigram "
            f"{number(lm.unigram_perplexity)}); effective context cut {_k_eff_text(eff['cut'], lm.ks)} "
            f"(interpolated {_k_eff_text(lm.effective_context_interpolated, lm.ks)}), shuffle "
            f"{_k_eff_text(eff['shuffle'], lm.ks)}, replace {_k_eff_text(eff['replace'], lm.ks)}; "
            f"ML(0.1) {_horizon(report)}")
