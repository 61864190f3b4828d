"""Flask-Security-Too's SQLAlchemy models, defined once for the tests."""

from __future__ import annotations

from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[misc,name-defined]
    pass


class User(db.Model, fsqla.FsUserMixin):  # type: ignore[misc,name-defined]
    pass
