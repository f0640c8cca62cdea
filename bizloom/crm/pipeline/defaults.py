"""The pipeline and loss reasons a new installation starts with.

Migration 0006 creates them on the first ``migrate``; :func:`ensure_defaults` (run after every
``migrate`` and ``flush`` through ``post_migrate``) creates them again on a database emptied
since — a test database flushed by a transactional test, or an installation whose data was
cleared — so that an opportunity always has a pipeline to go into. It never touches a
database that has pipelines or loss reasons of its own.
"""

from __future__ import annotations

from typing import Any

# (English, Simplified Chinese, Traditional Chinese, kind, default probability)
DEFAULT_STAGES = [
    ("Prospecting", "初步接触", "初步接觸", "open", 10),
    ("Qualification", "需求确认", "需求確認", "open", 20),
    ("Proposal", "方案报价", "方案報價", "open", 50),
    ("Negotiation", "商务谈判", "商務談判", "open", 75),
    ("Won", "赢单", "贏單", "won", 100),
    ("Lost", "输单", "輸單", "lost", 0),
]

DEFAULT_LOSS_REASONS = [
    ("Price too high", "价格过高", "價格過高"),
    ("Bad timing", "时机不对", "時機不對"),
    ("Chose a competitor", "选择了竞争对手", "選擇了競爭對手"),
    ("No budget", "没有预算", "沒有預算"),
    ("No decision", "未做决策", "未做決策"),
    ("Product does not fit", "产品不匹配", "產品不匹配"),
]


def ensure_defaults(using: str = "default") -> None:
    """Create New business / 新业务 / 新業務 with its six stages when there is no pipeline, and the
    common loss reasons when there is none."""
    from bizloom.crm.models import LossReason, Pipeline, Stage

    if not Pipeline.objects.using(using).exists():
        pipeline = Pipeline.objects.using(using).create(name="New business", name_zh_hans="新业务",
                                                        name_zh_hant="新業務", is_default=True, position=0)
        Stage.objects.using(using).bulk_create([
            Stage(pipeline=pipeline, name=en, name_zh_hans=hans, name_zh_hant=hant, kind=kind, probability=p,
                  position=(i + 1) * 10)
            for i, (en, hans, hant, kind, p) in enumerate(DEFAULT_STAGES)])
    if not LossReason.objects.using(using).exists():
        LossReason.objects.using(using).bulk_create([
            LossReason(name=en, name_zh_hans=hans, name_zh_hant=hant) for en, hans, hant in DEFAULT_LOSS_REASONS])


def after_migrate(sender: Any, using: str = "default", plan: Any = None, **kwargs: Any) -> None:
    """``post_migrate`` receiver: :func:`ensure_defaults` once the crm tables exist."""
    from django.db import connections

    if "crm_pipeline" in connections[using].introspection.table_names():
        ensure_defaults(using)
