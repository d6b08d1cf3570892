"""Core tables: roster (OneRoster Japan Profile) and the append-only audit log.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-26 12:54:36.816922
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001_core'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('academic_session',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('school_year', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['academic_session.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('academic_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_academic_session_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_academic_session_school_year'), ['school_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_academic_session_sourced_id'), ['sourced_id'], unique=True)

    op.create_table('org',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('identifier', sa.String(length=32), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['org.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('org', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_identifier'), ['identifier'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_sourced_id'), ['sourced_id'], unique=True)

    op.create_table('course',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('course_code', sa.String(length=64), nullable=True),
    sa.Column('grades', sa.String(length=64), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('school_year_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['school_year_id'], ['academic_session.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_school_year_id'), ['school_year_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_sourced_id'), ['sourced_id'], unique=True)

    op.create_table('schoolclass',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('grades', sa.String(length=64), nullable=True),
    sa.Column('class_code', sa.String(length=64), nullable=True),
    sa.Column('class_type', sa.String(length=16), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('academic_session_id', sa.Integer(), nullable=True),
    sa.Column('special_needs', sa.Boolean(), nullable=False),
    sa.Column('read_only', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['academic_session_id'], ['academic_session.id'], ),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['org.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('schoolclass', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schoolclass_academic_session_id'), ['academic_session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_schoolclass_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_schoolclass_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_schoolclass_sourced_id'), ['sourced_id'], unique=True)

    op.create_table('user',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('given_name', sa.String(length=255), nullable=False),
    sa.Column('family_name', sa.String(length=255), nullable=False),
    sa.Column('kana_given_name', sa.String(length=255), nullable=True),
    sa.Column('kana_family_name', sa.String(length=255), nullable=True),
    sa.Column('user_master_identifier', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('primary_org_id', sa.Integer(), nullable=True),
    sa.Column('grades', sa.String(length=64), nullable=True),
    sa.Column('home_class_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('totp_secret', sa.String(length=64), nullable=True),
    sa.Column('totp_enabled', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('graduated', sa.Boolean(), nullable=False),
    sa.Column('moving_on', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['home_class_id'], ['schoolclass.id'], ),
    sa.ForeignKeyConstraint(['primary_org_id'], ['org.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_home_class_id'), ['home_class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_primary_org_id'), ['primary_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_sourced_id'), ['sourced_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_user_user_master_identifier'), ['user_master_identifier'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_username'), ['username'], unique=True)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=True),
    sa.Column('target_id', sa.String(length=255), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('enrollment',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('primary', sa.Boolean(), nullable=False),
    sa.Column('begin_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('shusseki_no', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['schoolclass.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrollment_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrollment_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enrollment_sourced_id'), ['sourced_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_enrollment_user_id'), ['user_id'], unique=False)

    op.create_table('orgrole',
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sourced_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_type', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('begin_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('orgrole', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orgrole_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orgrole_sourced_id'), ['sourced_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_orgrole_user_id'), ['user_id'], unique=False)

    _create_audit_triggers()


AUDIT_APPEND_ONLY = "audit_event is append-only"


def _create_audit_triggers() -> None:
    """Refuse UPDATE and DELETE on audit_event in the database itself, not only in code."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{AUDIT_APPEND_ONLY}';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, '{AUDIT_APPEND_ONLY}'); END"
            )


def _drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


def downgrade() -> None:
    _drop_audit_triggers()
    with op.batch_alter_table('orgrole', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orgrole_user_id'))
        batch_op.drop_index(batch_op.f('ix_orgrole_sourced_id'))
        batch_op.drop_index(batch_op.f('ix_orgrole_org_id'))
    op.drop_table('orgrole')
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrollment_user_id'))
        batch_op.drop_index(batch_op.f('ix_enrollment_sourced_id'))
        batch_op.drop_index(batch_op.f('ix_enrollment_school_id'))
        batch_op.drop_index(batch_op.f('ix_enrollment_class_id'))
    op.drop_table('enrollment')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))
    op.drop_table('audit_event')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_username'))
        batch_op.drop_index(batch_op.f('ix_user_user_master_identifier'))
        batch_op.drop_index(batch_op.f('ix_user_sourced_id'))
        batch_op.drop_index(batch_op.f('ix_user_primary_org_id'))
        batch_op.drop_index(batch_op.f('ix_user_home_class_id'))
        batch_op.drop_index(batch_op.f('ix_user_email'))
    op.drop_table('user')
    with op.batch_alter_table('schoolclass', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schoolclass_sourced_id'))
        batch_op.drop_index(batch_op.f('ix_schoolclass_school_id'))
        batch_op.drop_index(batch_op.f('ix_schoolclass_course_id'))
        batch_op.drop_index(batch_op.f('ix_schoolclass_academic_session_id'))
    op.drop_table('schoolclass')
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_sourced_id'))
        batch_op.drop_index(batch_op.f('ix_course_school_year_id'))
        batch_op.drop_index(batch_op.f('ix_course_org_id'))
    op.drop_table('course')
    with op.batch_alter_table('org', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_sourced_id'))
        batch_op.drop_index(batch_op.f('ix_org_parent_id'))
        batch_op.drop_index(batch_op.f('ix_org_identifier'))
    op.drop_table('org')
    with op.batch_alter_table('academic_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_academic_session_sourced_id'))
        batch_op.drop_index(batch_op.f('ix_academic_session_school_year'))
        batch_op.drop_index(batch_op.f('ix_academic_session_parent_id'))
    op.drop_table('academic_session')
