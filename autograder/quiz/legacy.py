"""Quiz answers written before format 2 (answers by letter, the latest answer scoring).

Two things may still hold such answers: a state file (section ``quiz``: ``answers`` ->
``{"answer": "b", "attempts": 2, "first_try": false, "at": ...}``) and an answers file without
``format``. Their letters and numbers refer to the order of the bank at the time, which
`OLD_ORDER` records (the ids of today's choices, items, statements and options in that order;
None for a choice that no longer exists).

- `migrate` converts a state section in place, losing nothing: the old answers stay, verbatim,
  under ``answers_v1``. A question still in the bank keeps its first attempt's outcome (the
  flag ``first_try``; the answer itself is the key when it was right, unknown when it was
  wrong) and, when it differs, its latest answer as a second attempt. Questions no longer in
  the bank keep only their ``answers_v1`` record.
- `canonical` reads one answer of an old answers file.
"""

from __future__ import annotations

from typing import Any

from autograder.i18n import msg
from autograder.quiz.bank import Bank, Matching, Multiple, Ordering, Question, Single
from autograder.quiz.check import SEPARATORS, AnswerError, judge, key, parse, variant_of

OLD_ORDER: dict[str, dict[str, list[str | None]]] = {
    "ics_definition": {"choices": ["dataset_shift", "layer_inputs_drift", "vanishing_gradients", None]},
    "ics_consequences": {"choices": ["slow_learning", "small_rates", "init_sensitivity", None, None]},
    "ics_sigmoid": {"choices": ["negative_outputs", "flat_tails", "no_derivative", "becomes_identity"]},
    "norm_axis": {"choices": ["per_sample", "per_feature", "one_pair", "whole_dataset"]},
    "norm_eps": {"choices": ["unbias", "noise", "finite", "exact_one"]},
    "norm_properties": {"choices": ["mean_zero", "variance_one", "gaussian", "bounded", "per_sample_zero"]},
    "norm_batch_of_one": {"choices": ["always_beta", "even_sizes", "eps_too_large", None]},
    "spatial_reshape": {"choices": ["flatten_directly", "channels_last", "row_per_sample", "channels_as_rows"]},
    "gb_why": {"choices": ["expressiveness", "differentiable", None, "replace_weights"]},
    "gb_undo": {"choices": ["unit", "variance_and_mean", "std_and_mean", "swapped"]},
    "gb_dgamma_shape": {"choices": ["per_sample", "kept_dims", "same_as_gamma", "scalar"]},
    "ben_list": {"choices": ["larger_rates", "less_init_dependence", "mild_regularisation", None, None]},
    "ben_noise": {"choices": ["gamma_penalty", "random_zeros", "running_smoothing", "batch_mates"]},
    "ben_landscape": {"choices": ["removes_shift", "smoother_loss", None, "equal_gradients"]},
    "inf_statistics": {"choices": ["current_batch", "running", "none_switched_off", "last_batch"]},
    "inf_forgot_eval": {"choices": ["raises", "auto_detect", "silent_beta", "running_but_updating"]},
    "inf_eval_changes": {"choices": ["bn_uses_running", "bn_stops_updating", "dropout_identity", "no_autograd",
                                     "weights_locked"]},
    "inf_affine_map": {"choices": ["gamma_alone", "scaled_gamma", "batch_variance", "times_variance"]},
    "inf_depends_on": {"choices": ["batch_mates", "last_train_batch", None, "own_input_only"]},
    "pt_which_layer": {"choices": ["bn1d_16", "bn2d_3", "bn2d_16", "bn2d_positions"]},
    "pt_momentum": {"choices": ["old_weight", "new_weight", "every_ten", "sgd_momentum"]},
    "pt_running_var": {"choices": ["biased", "std", "variance_of_means", "unbiased"]},
    "sgd_first_buffer": {"choices": ["gradient", "dampened", "velocity", "zero"]},
    "place_block": {"items": ["relu", "dropout", "linear", "batchnorm"]},
    "place_conv_block": {"items": ["pool", "batchnorm", "relu", "conv"]},
    "place_bn": {"choices": ["after_relu_positive", "after_weights", "raw_input", "on_logits"]},
    "place_dropout": {"choices": [None, "before_each_bn", "after_activation", "on_logits"]},
    "do_p_meaning": {"choices": ["keep_probability", "drop_probability", "layer_fraction", "survivor_factor"]},
    "do_why": {"choices": ["no_coadaptation", "implicit_ensemble", None, "normalises", None]},
    "do_inverted": {"choices": [None, "faster", "exact_sum", "same_expectation"]},
    "do_backward": {"choices": ["new_mask", None, "mask_over_keep", "mask_times_keep"]},
    "vs_properties": {"pairs": ["batch_statistics", "train_eval", "learnable", "identity_at_test", "drops_layers"],
                      "options": ["bn", "dropout", "both", "neither"]},
    "vs_purpose": {"choices": ["different_jobs", "swapped", "both_regularise", "both_speed_up"]},
    "vs_underfitting": {"choices": [None, "remove_bn", "eval_in_training", "less_dropout"]},
}
"""Question id -> {"choices" | "items" | "pairs" | "options": today's ids in the order of the bank
before format 2 (58 questions); None for a choice that was replaced. True/false and numeric
answers need no table; a question whose answer changed got a new id, so nothing carries over
to it."""


def migrate(section: dict[str, Any], bank: Bank) -> None:
    """Convert a format-1 quiz section (``answers``) to format 2 (``questions``), in place."""
    old = section.get("answers")
    if not isinstance(old, dict) or "questions" in section:
        return
    seed = section.get("seed") if isinstance(section.get("seed"), int) else None
    ids = {question.id for question in bank.questions}
    questions: dict[str, Any] = {}
    for question_id, entry in old.items():
        if question_id in ids and isinstance(entry, dict) and "answer" in entry:
            questions[question_id] = _converted(bank.question(question_id), entry, seed)
    section["answers_v1"] = section.pop("answers")
    section["questions"] = questions
    section["format"] = 2


def _converted(question: Question, entry: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """A format-2 entry from a format-1 one: the first attempt's outcome (the key if it was
    right, unknown if not) and, after a wrong first attempt, the latest answer when it can still
    be read."""
    numbers = variant_of(question, seed)
    judgeable = numbers is not None or question.kind != "numeric"
    first_right = entry.get("first_try") is True and judgeable
    stamp = {"at": entry.get("at"), "converted": 1}
    attempts = [{"answer": key(question, numbers) if first_right else None, "correct": first_right, **stamp}]
    if not first_right and judgeable and isinstance(entry.get("attempts"), int) and entry["attempts"] > 1:
        try:
            latest = parse(question, canonical(question, entry["answer"]))
        except AnswerError:
            latest = None
        if latest is not None:
            attempts.append({"answer": latest, "correct": judge(question, latest, numbers).correct, **stamp})
    right = any(attempt["correct"] for attempt in attempts)
    return {"attempts": attempts, "closed": "right" if right else ("final" if question.one_attempt else None)}


def canonical(question: Question, raw: Any) -> Any:
    """An answer written before format 2, with its letters and numbers read in the bank's old
    order; raises `AnswerError` for a choice that no longer exists."""
    order = OLD_ORDER.get(question.id)
    if order is None:
        return raw
    if isinstance(question, (Single, Multiple)):
        parts = _parts(raw)
        if isinstance(question, Multiple) and len(parts) == 1 and len(parts[0]) > 1 \
                and parts[0] not in order["choices"]:
            parts = list(parts[0])  # "ac"
        converted = [_by_letter(order["choices"], part) for part in parts]
        return converted[0] if isinstance(question, Single) and len(converted) == 1 else converted
    if isinstance(question, Ordering):
        parts = _parts(raw)
        if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) == len(order["items"]):
            parts = list(parts[0])
        return [_by_number(order["items"], part) for part in parts]
    if isinstance(question, Matching):
        if isinstance(raw, dict):
            return {statement: _by_letter(order["options"], value) for statement, value in raw.items()}
        return {statement: _by_letter(order["options"], part)
                for statement, part in zip(order["pairs"], _parts(raw))}
    return raw


def _parts(raw: Any) -> list[str]:
    if isinstance(raw, (list, tuple)):
        return [str(part).strip().lower().rstrip(")") for part in raw]
    return [part.rstrip(")") for part in SEPARATORS.split(str(raw).strip().lower()) if part]


def _by_letter(ids: list[str | None], value: str) -> str:
    """A letter of the old order as today's id (an id is kept as it is)."""
    value = str(value).strip().lower().rstrip(")")
    if len(value) == 1 and value.isalpha():
        index = ord(value) - ord("a")
        if not 0 <= index < len(ids) or ids[index] is None:
            raise AnswerError(msg("quiz.answers.older_quiz"))
        return ids[index]
    return value


def _by_number(ids: list[str | None], value: str) -> str:
    if value.isdigit():
        index = int(value) - 1
        if not 0 <= index < len(ids) or ids[index] is None:
            raise AnswerError(msg("quiz.answers.older_quiz"))
        return ids[index]
    return value
