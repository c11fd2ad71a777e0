"""ballots outlive their voter's account

Revision ID: 6c5cdfe6b2ee
Revises: 31f8d19fb228
Create Date: 2026-12-02 12:54:10.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "6c5cdfe6b2ee"
down_revision = "31f8d19fb228"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A deleted account's ballots stay in the count and the audit log, attached to nobody.
    with op.batch_alter_table("ballots", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.drop_constraint(batch_op.f("fk_ballots_user_id_users"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_ballots_user_id_users"),
            "users",
            ["user_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    # Ballots of deleted accounts cannot be given back a voter: they go.
    op.execute("DELETE FROM ballots WHERE user_id IS NULL")
    with op.batch_alter_table("ballots", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ballots_user_id_users"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_ballots_user_id_users"), "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.alter_column("user_id", existing_type=sa.INTEGER(), nullable=False)
