from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    """The two deviations from the package's defaults, for the providers (see README.md).

    1. spid-cie-oidc 1.6.3 validates the request object's `ui_locales` as a JSON list, while OpenID Connect Core
       (3.1.2.1) makes it a space-separated string, which is what Sportello sends ("it"). The profile's request
       schema is swapped for one that reads the string as that list before the package's own checks.
    2. Its userinfo JWT carries `sub` and the claims asked for, but not `iss` and `aud`, which the technical rules'
       userinfo table lists (the RP "MUST check that the value is equal to its own client_id") and Sportello
       checks. The view's signing step is given the provider's identifier and the client's, looked up from the
       access token as the view itself does, and adds them to what it signs; nothing else changes.
    """

    name = "reference"

    def ready(self):
        from pydantic import validator
        from spid_cie_oidc.provider import settings as provider_settings
        from spid_cie_oidc.provider.schemas.authn_requests import (
            AuthenticationRequestCie,
            AuthenticationRequestSpid,
        )

        def space_separated(cls, value):
            return value.split() if isinstance(value, str) else value

        for profile, schema in (("spid", AuthenticationRequestSpid), ("cie", AuthenticationRequestCie)):
            lenient = type(
                f"{schema.__name__}UiLocales",
                (schema,),
                {"ui_locales_space_separated": validator("ui_locales", pre=True, allow_reuse=True)(space_separated)},
            )
            provider_settings.OIDCFED_PROVIDER_PROFILES[profile]["authorization_request"] = lenient

        addressed_userinfo()


def addressed_userinfo():
    """Makes the userinfo view sign `iss` (this provider), `aud` (the client the access token was issued to), `iat`
    and `exp`, as the technical rules' userinfo table lists them."""
    import contextvars

    from spid_cie_oidc.provider.models import IssuedToken
    from spid_cie_oidc.provider.views import userinfo_endpoint as view

    addressed = contextvars.ContextVar("addressed", default=None)
    sign = view.create_jws
    get = view.UserInfoEndpoint.get

    def create_jws(payload, *args, **kwargs):
        parties = addressed.get()
        if parties is not None:
            payload = {**payload, **parties}
        return sign(payload, *args, **kwargs)

    def get_addressed(self, request, *args, **kwargs):
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        token = IssuedToken.objects.filter(access_token=bearer).first() if bearer else None
        parties = (
            {"iss": self.get_issuer().sub, "aud": token.session.client_id, **self.get_jwt_common_data()} if token else None
        )
        reset = addressed.set(parties)
        try:
            return get(self, request, *args, **kwargs)
        finally:
            addressed.reset(reset)

    view.create_jws = create_jws
    view.UserInfoEndpoint.get = get_addressed
