"""Report forms: baseline capture, re-baselining (admin, with a reason) and report notes."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length


class BaselineForm(FlaskForm):
    run_id = IntegerField("Run", validators=[InputRequired(message="Choose the run to capture from.")])


class RebaselineForm(FlaskForm):
    run_id = IntegerField("Run", validators=[InputRequired(message="Choose the run to capture from.")])
    reason = StringField("Reason", validators=[DataRequired(message="Say why the baseline changes."),
                                               Length(max=500)])


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    body = TextAreaField("Note for the client", validators=[DataRequired(), Length(max=5000)])
