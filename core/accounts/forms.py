"""Account forms (Flask-WTF: CSRF token included)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

from core.accounts.services import MIN_PASSWORD_LENGTH
from core.i18n import lazy_gettext as _l

_required = DataRequired(message=_l("Ce champ est obligatoire."))
_email = Email(message=_l("Adresse e-mail invalide."), check_deliverability=False)
_password_length = Length(
    min=MIN_PASSWORD_LENGTH,
    max=200,
    message=_l("Le mot de passe doit contenir au moins %(n)s caractères.", n=MIN_PASSWORD_LENGTH),
)


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[_required, _email])
    password = PasswordField(_l("Mot de passe"), validators=[_required])
    remember = BooleanField(_l("Rester connecté sur cet appareil"))


class SignupForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[_required, _email])
    display_name = StringField(_l("Nom affiché"), validators=[_required, Length(max=80)])
    password = PasswordField(_l("Mot de passe"), validators=[_required, _password_length])
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[_required, EqualTo("password", message=_l("Les mots de passe diffèrent."))],
    )


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[_required, _email])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("Nouveau mot de passe"), validators=[_required, _password_length])
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[_required, EqualTo("password", message=_l("Les mots de passe diffèrent."))],
    )


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Nom affiché"), validators=[_required, Length(max=80)])
    locale = SelectField(
        _l("Langue de l'interface"),
        choices=[
            SelectChoice("", _l("Celle du navigateur")),
            SelectChoice("fr", "Français"),
            SelectChoice("en", "English"),
        ],
    )


class TokenForm(FlaskForm):
    label = StringField(_l("Nom du jeton"), validators=[Length(max=80)])


class EmptyForm(FlaskForm):
    """Only the CSRF token: for buttons that post (logout, revoke)."""


class DeleteAccountForm(FlaskForm):
    """Re-authentication before deleting the account: the password, or for an account
    without one (OpenID Connect only) a phrase typed out."""

    password = PasswordField(_l("Votre mot de passe"), validators=[Length(max=200)])
    phrase = StringField(_l("Phrase de confirmation"), validators=[Length(max=80)])
