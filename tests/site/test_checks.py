"""`manage.py check --deploy` tells a deployer when the sandbox would stand in for Exolve."""

from django.core.checks import run_checks


def _ids(settings, **overrides):
    for name, value in overrides.items():
        setattr(settings, name, value)
    return {message.id for message in run_checks(include_deployment_checks=True, tags=["security"])}


def test_deploy_check_warns_while_the_sandbox_is_in_use(settings):
    assert "exolve_portal.W001" in _ids(settings, EXOLVE_SANDBOX=True)


def test_deploy_check_is_quiet_with_a_real_exolve_key(settings):
    assert "exolve_portal.W001" not in _ids(settings, EXOLVE_SANDBOX=False, EXOLVE_API_KEY="a-real-key")
