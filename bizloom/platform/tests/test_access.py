"""access.py: scopes, shares, field rules, references and denial rules (issue #3)."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Group, Permission

from bizloom.common.errors import PermissionDeniedError, ValidationFailed
from bizloom.crm.models import Account
from bizloom.platform import access
from bizloom.platform.models import RecordShare, User
from bizloom.platform.org import services as org

pytestmark = pytest.mark.django_db


def _perm(dotted: str) -> Permission:
    app, code = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app, codename=code)


def _role(name: str, *codenames: str, scope: str = "all", hidden=(), readonly=()) -> Group:
    role = Group.objects.create(name=name)
    for code in codenames:
        role.permissions.add(_perm(f"crm.{code}_account"))
        if scope != "all":
            from django.contrib.contenttypes.models import ContentType

            from bizloom.platform.models import RoleScope
            RoleScope.objects.create(role=role, content_type=ContentType.objects.get_for_model(Account), action=code,
                                     scope=scope)
    admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser("root", "r@x.cn", "pw")
    for name in hidden:
        org.set_field_rule(role, Account, name, "hidden", actor=admin)
    for name in readonly:
        org.set_field_rule(role, Account, name, "readonly", actor=admin)
    return role


def _user(username: str, *roles: Group, department=None) -> User:
    user = User.objects.create_user(username=username, password="pw-secret-123", department=department)
    user.groups.set(roles)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def world():
    """销售部 (manager mgr) → 华东 (rep a, rep b in team east) and 华南 (rep c); one account each."""
    root = User.objects.create_superuser("root", "r@x.cn", "pw")
    sales = org.create_department("销售部", actor=root)
    east = org.create_department("华东", parent=sales, actor=root)
    south = org.create_department("华南", parent=sales, actor=root)
    rep = _role("Sales rep", "view", "add", "change", "export", scope="own", hidden=["annual_revenue"],
                readonly=["tier"])
    team_role = _role("Team lead", "view", "change", scope="team")
    dept_role = _role("Sales manager", "view", "change", "delete", scope="department")
    a = _user("a", rep, department=east)
    b = _user("b", rep, department=east)
    c = _user("c", rep, department=south)
    lead = _user("lead", team_role, department=east)
    mgr = _user("mgr", dept_role)
    org.update_department(sales, {"manager": mgr}, actor=root)
    org.save_team(None, {"name": "east", "leader": lead, "members": [a, b]}, actor=root)
    accounts = {u.username: Account.objects.create(name=f"acct-{u.username}", owner=u) for u in (a, b, c)}
    accounts["none"] = Account.objects.create(name="acct-none")
    return {"root": root, "a": a, "b": b, "c": c, "lead": lead, "mgr": mgr, "accounts": accounts, "sales": sales,
            "east": east, "rep_role": rep, "dept_role": dept_role}


def _names(user, action="view"):
    return sorted(access.restrict(Account.objects.all(), user, action).values_list("name", flat=True))


def test_scopes_filter_records_in_the_database(world):
    # given / when / then
    assert _names(world["a"]) == ["acct-a"]
    assert _names(world["lead"]) == ["acct-a", "acct-b"]
    assert _names(world["mgr"]) == ["acct-a", "acct-b", "acct-c"]
    assert _names(world["root"]) == ["acct-a", "acct-b", "acct-c", "acct-none"]
    assert access.scope_for(world["a"], Account, "view") == "own"
    assert access.scope_for(world["a"], Account, "delete") is None


def test_department_member_sees_own_subtree(world):
    # given a department-scoped member of 华东 (not a manager)
    member = _user("member", world["dept_role"], department=world["east"])
    # then: 华东's records, not 华南's
    assert _names(member) == ["acct-a", "acct-b"]


def test_widest_scope_of_several_roles_wins(world):
    # given a user holding "own" and "department" roles
    both = _user("both", world["rep_role"], world["dept_role"], department=world["sales"])
    # then
    assert access.scope_for(both, Account, "view") == "department"
    assert _names(both) == ["acct-a", "acct-b", "acct-c"]


def test_direct_permission_means_scope_all_without_field_rules(world):
    # given a user with a direct permission and the rep role
    user = _user("direct", world["rep_role"])
    user.user_permissions.add(_perm("crm.view_account"))
    user = User.objects.get(pk=user.pk)
    # then
    assert access.scope_for(user, Account, "view") == "all"
    assert access.field_policy(user, Account) == access.NO_FIELD_RULES
    assert access.scope_for(user, Account, "change") == "own"


def test_moving_a_department_moves_its_subtree(world):
    # given 华东 moved to the top level
    org.update_department(world["east"], {"parent": None}, actor=world["root"])
    # then the sales manager no longer sees 华东's accounts
    assert _names(User.objects.get(pk=world["mgr"].pk)) == ["acct-c"]
    with pytest.raises(ValidationFailed):
        org.update_department(world["sales"], {"parent": world["south"] if "south" in world else
                                               world["sales"].children.first()}, actor=world["root"])


def test_shares_widen_scope_by_level(world):
    # given b's account shared with a to read, and the east team to edit c's account
    a, accounts = world["a"], world["accounts"]
    org.share_record(accounts["b"], user=a, level="read", actor=world["b"])
    team = a.teams.get()
    org.share_record(accounts["c"], team=team, level="edit", actor=world["c"])
    fresh = User.objects.get(pk=a.pk)
    # then
    assert _names(fresh, "view") == ["acct-a", "acct-b", "acct-c"]
    assert _names(fresh, "change") == ["acct-a", "acct-c"]
    assert _names(fresh, "delete") == []
    assert RecordShare.objects.count() == 2


def test_only_owner_manager_or_scope_all_may_share_or_transfer(world):
    _a, b, accounts = world["a"], world["b"], world["accounts"]
    # when b tries to share a's account
    with pytest.raises(PermissionDeniedError) as info:
        org.share_record(accounts["a"], user=b, level="read", actor=b)
    # then nothing was shared and the rule is named
    assert RecordShare.objects.count() == 0
    assert "only the owner" in info.value.context["rule"]
    # the manager above the owner may transfer
    org.transfer_ownership(accounts["a"], b, actor=world["mgr"])
    assert Account.objects.get(pk=accounts["a"].pk).owner == b


def test_field_policy_is_the_intersection_of_granting_roles(world):
    # given the rep role hides annual_revenue and makes tier read-only
    a = world["a"]
    assert access.field_policy(a, Account) == access.FieldPolicy(hidden=frozenset({"annual_revenue"}),
                                                                 readonly=frozenset({"tier"}))
    # when the user also holds a role granting view without rules
    both = _user("both", world["rep_role"], world["dept_role"])
    # then nothing is hidden
    assert access.field_policy(both, Account) == access.NO_FIELD_RULES
    # and a role that does not grant the action does not count
    assert access.field_policy(a, Account, "delete") == access.NO_FIELD_RULES


def test_require_names_the_rule_and_logs_it(world, caplog):
    # when
    with caplog.at_level(logging.INFO, logger="bizloom.security"), pytest.raises(PermissionDeniedError) as info:
        access.require(world["a"], Account, "delete")
    # then
    assert info.value.context["rule"] == "permission:crm.delete_account"
    assert "rule=permission:crm.delete_account" in caplog.text


def test_require_record_names_the_role_and_scope(world):
    with pytest.raises(PermissionDeniedError) as info:
        access.require_record(world["a"], world["accounts"]["b"], "change")
    assert info.value.context["rule"] == ("role:Sales rep grants crm.change_account with scope own; "
                                          "record owned by someone else")


def test_check_reference_refuses_records_outside_view_scope(world):
    a, accounts = world["a"], world["accounts"]
    access.check_reference(a, accounts["a"], field="account")
    access.check_reference(a, world["b"], field="owner")  # users are always referable
    with pytest.raises(ValidationFailed) as info:
        access.check_reference(a, accounts["c"], field="account")
    assert list(info.value.fields) == ["account"]
    assert info.value.context["rule"].startswith("reference:role:Sales rep")


def test_viewing_as_is_read_only(world):
    target = access.mark_viewing_as(User.objects.get(pk=world["mgr"].pk), world["root"])
    assert access.can(target, Account, "view")
    assert not access.can(target, Account, "change")
    assert access.explain(target, Account, "delete").startswith("view-as:")


def test_model_without_owner_field_has_no_own_records(world):
    # Department has no owner field: a narrow scope matches nothing rather than everything
    from bizloom.platform.models import Department

    assert access.owner_field(Department) is None
    assert access.owner_field(Account) == "owner"


def test_business_models_are_discovered_from_the_registry():
    assert Account in access.business_models()
    assert "import" in access.model_actions(Account)


def test_denial_message_reads_as_a_sentence_in_the_users_language(django_user_model):
    # given
    from django.utils import translation

    from bizloom.common.errors import PermissionDeniedError
    from bizloom.crm.models import Account

    user = django_user_model.objects.create_user("nobody-here", password="pw-secret-123")
    # when
    with translation.override("en"), pytest.raises(PermissionDeniedError) as english:
        access.require(user, Account, "change")
    with translation.override("zh-hans"), pytest.raises(PermissionDeniedError) as chinese:
        access.require(user, Account, "change")
    # then: a verb, not the codename; and the rule that decided it
    assert english.value.message == "You do not have permission to edit accounts."
    assert "change" not in chinese.value.message
    assert english.value.context["rule"] == "permission:crm.change_account"
