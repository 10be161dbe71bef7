"""The policy model: a company's privacy promises as typed, validated data (pydantic v2).

Every element that encodes a promise of the published policy lists it in ``promises`` (ids such as
``MD-3``). Where the published text is silent and troth had to assume something to make the policy
executable, the element says so in ``assumptions`` (field -> why), and ``troth check`` reports it.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from troth.policy.duration import Duration
from troth.policy.model_base import (
    FORMAT_VERSION,
    CategoryKey,
    DurationField,
    Element,
    Id,
    Jurisdiction,
    LegalBasis,
    OptionalDuration,
    PromiseId,
    SubjectKey,
    TaxonomyKey,
    TaxonomyRef,
    UseKey,
)
from troth.policy.model_recipients import (
    Dpa,
    Recipient,
    RecipientNotice,
    RecipientType,
    TransferMechanism,
)
from troth.policy.model_requests import (
    Approval,
    QueuedKind,
    RequestRules,
    Right,
    RightKind,
)


class Promise(BaseModel):
    """One promise of the published policy, with the sentence it comes from."""

    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    id: PromiseId
    text: str
    quote: str | None = None
    _path: tuple[str | int, ...] = PrivateAttr(default=())


class ChangelogEntry(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    version: str
    date: date
    changes: list[str] = Field(min_length=1)


class ChangeNotice(StrEnum):
    prior_notice = "prior_notice"
    on_publication = "on_publication"
    no_notice = "no_notice"
    unspecified = "unspecified"


class PolicyChanges(Element):
    notice: ChangeNotice = ChangeNotice.unspecified
    notice_period: OptionalDuration = None
    channels: list[str] = Field(default_factory=list)


class PolicyMeta(Element):
    id: Id
    title: str = "Privacy Policy"
    version: str
    effective: date | None = None
    language: str = "en"
    url: str | None = None
    scope: str | None = None
    changes: PolicyChanges = Field(default_factory=PolicyChanges)
    changelog: list[ChangelogEntry] = Field(default_factory=list)


class Contact(Element):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None

    def is_empty(self) -> bool:
        return not (self.email or self.phone or self.url)


class Organisation(Element):
    name: str
    legal_name: str | None = None
    website: str | None = None
    address: str | None = None
    contact: Contact | None = None
    dpo: list[Contact] = Field(default_factory=list)
    representative: Contact | None = None


class TaxonomyTerm(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    key: TaxonomyKey
    name: str
    description: str | None = None


class TaxonomyExtension(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    data_categories: list[TaxonomyTerm] = Field(default_factory=list)
    data_subjects: list[TaxonomyTerm] = Field(default_factory=list)
    data_uses: list[TaxonomyTerm] = Field(default_factory=list)


class DataSubject(Element):
    key: SubjectKey
    description: str | None = None


class DataCategory(Element):
    """A category of personal data the policy says is collected."""

    key: CategoryKey
    group: str | None = None
    description: str | None = None
    subjects: list[SubjectKey] = Field(default_factory=list)
    sensitive: bool = False
    #: how erasure masks a field of this category (and its sub-categories) when the data map names
    #: no ``mask``: null, redact, hash or fake (troth's defaults otherwise)
    erasure: Literal["null", "redact", "hash", "fake"] | None = None


class DpiaCriterion(StrEnum):
    """The regulators' common criteria for a likely high risk (EDPB WP248 rev.01)."""

    evaluation_or_scoring = "evaluation_or_scoring"
    automated_decisions = "automated_decisions"
    systematic_monitoring = "systematic_monitoring"
    sensitive_data = "sensitive_data"
    large_scale = "large_scale"
    matching_datasets = "matching_datasets"
    vulnerable_subjects = "vulnerable_subjects"
    innovative_technology = "innovative_technology"
    prevents_rights = "prevents_rights"


class Dpia(BaseModel):
    """The data protection impact assessment of a purpose (Art. 35)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    date: date
    reference: str
    outcome: str | None = None


class ProcessingRole(StrEnum):
    """In which role the company processes for a purpose (GDPR Art. 4(7), 4(8))."""

    controller = "controller"
    processor = "processor"


class Purpose(Element):
    id: Id
    name: str
    description: str | None = None
    use: UseKey
    legal_basis: LegalBasis | None = None
    consents: list[Id] = Field(default_factory=list)
    legitimate_interest: str | None = None
    statute: str | None = None
    categories: list[CategoryKey] = Field(default_factory=list)
    subjects: list[SubjectKey] = Field(default_factory=list)
    #: the criteria the company declares for this purpose (others are derived from the data)
    risk: list[DpiaCriterion] = Field(default_factory=list)
    dpia: Dpia | None = None
    #: processor: the company processes on behalf of ``controllers`` (its business clients)
    role: ProcessingRole = ProcessingRole.controller
    controllers: list[str] = Field(default_factory=list)


class CollectionKind(StrEnum):
    order_form = "order_form"
    web_form = "web_form"
    account_signup = "account_signup"
    support_desk = "support_desk"
    notification_desk = "notification_desk"
    chat_widget = "chat_widget"
    product_usage = "product_usage"
    device = "device"
    cookie_banner = "cookie_banner"
    oauth = "oauth"
    api = "api"
    other = "other"


class Source(StrEnum):
    data_subject = "data_subject"
    user_on_behalf = "user_on_behalf"
    observed = "observed"
    third_party = "third_party"


class CollectionPoint(Element):
    id: Id
    name: str
    kind: CollectionKind
    source: Source = Source.data_subject
    subjects: list[SubjectKey] = Field(default_factory=list)
    categories: list[CategoryKey] = Field(default_factory=list)
    purposes: list[Id] = Field(default_factory=list)


class ConsentMechanism(StrEnum):
    opt_in = "opt_in"
    double_opt_in = "double_opt_in"
    cookie_banner = "cookie_banner"
    implied_by_use = "implied_by_use"
    browser_settings = "browser_settings"


class Notice(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)

    version: str
    text: str
    url: str | None = None


class Consent(Element):
    id: Id
    name: str
    purposes: list[Id] = Field(min_length=1)
    notice: Notice
    default: bool = False
    mechanism: ConsentMechanism = ConsentMechanism.opt_in
    channel: Id | None = None
    withdrawal: str | None = None
    expires_after: OptionalDuration = None


class Trigger(StrEnum):
    collection = "collection"
    last_activity = "last_activity"
    account_closure = "account_closure"
    purpose_fulfilled = "purpose_fulfilled"
    consent_withdrawn = "consent_withdrawn"


class RetentionAction(StrEnum):
    delete = "delete"
    anonymise = "anonymise"


class LegalHold(Element):
    id: Id
    categories: list[CategoryKey] = Field(default_factory=list)
    period: OptionalDuration = None
    basis: LegalBasis = LegalBasis.legal_obligation
    law: str | None = None
    reason: str


class RetentionRule(Element):
    id: Id
    name: str | None = None
    categories: list[CategoryKey] = Field(min_length=1)
    purposes: list[Id] = Field(default_factory=list)
    subjects: list[SubjectKey] = Field(default_factory=list)
    period: OptionalDuration = None
    #: a period troth enforces where the published text states none (``period`` stays
    #: unspecified, so ``troth check`` still reports the silence); ``assumptions.period`` says
    #: why. A stated ``period`` wins over it.
    assumed_period: OptionalDuration = None
    trigger: Trigger = Trigger.collection
    #: the trigger sweeps use where the published one cannot be read from a column (such as
    #: ``purpose_fulfilled``); ``assumptions.trigger`` says why
    assumed_trigger: Trigger | None = None
    action: RetentionAction = RetentionAction.delete
    legal_holds: list[LegalHold] = Field(default_factory=list)
    schedule: str | None = None

    @model_validator(mode="after")
    def _assumed_values_are_assumptions(self) -> RetentionRule:
        for name in ("period", "trigger"):
            if getattr(self, f"assumed_{name}") is not None and name not in self.assumptions:
                raise ValueError(f"an assumed_{name} needs assumptions.{name} saying why")
        return self

    @property
    def enforced_trigger(self) -> Trigger:
        """The trigger sweeps enforce: the assumed one where given, else the stated one."""
        return self.assumed_trigger if self.assumed_trigger is not None else self.trigger

    @property
    def enforced_period(self) -> Duration | None:
        """The period sweeps enforce: the stated one, else the assumed one."""
        return self.period if self.period is not None else self.assumed_period


class CookieCategory(StrEnum):
    necessary = "necessary"
    preferences = "preferences"
    analytics = "analytics"
    marketing = "marketing"


class Cookie(Element):
    id: Id
    name: str
    category: CookieCategory
    purpose: Id | None = None
    description: str | None = None
    lifetime: DurationField | Literal["session"] | None = None
    provider: str = "first_party"


class CookiePreferences(StrEnum):
    banner = "banner"
    browser_settings = "browser_settings"
    none = "none"


class Cookies(Element):
    preferences: CookiePreferences = CookiePreferences.banner
    items: list[Cookie] = Field(default_factory=list)


class Storage(StrEnum):
    none = "none"
    transient = "transient"
    durable = "durable"


class RestrictedSource(Element):
    id: Id
    name: str
    provider: str
    program_policy: str | None = None
    limited_use: bool = True
    categories: list[CategoryKey] = Field(min_length=1)
    scopes: list[str] = Field(default_factory=list)
    storage: Storage = Storage.none
    allowed_purposes: list[Id] = Field(default_factory=list)
    forbidden_uses: list[UseKey] = Field(
        default_factory=lambda: ["marketing", "sales", "train_ai_system", "personalize.profiling"]
    )
    on_user_request_only: bool = True


class CommitmentKind(StrEnum):
    no_third_party_sharing = "no_third_party_sharing"
    no_sale = "no_sale"
    no_targeted_advertising = "no_targeted_advertising"
    no_automated_decisions = "no_automated_decisions"


class Commitment(Element):
    id: Id
    kind: CommitmentKind
    text: str


class Evidence(BaseModel):
    """What proves a security measure is kept: an audit event of ``kind`` at least ``every``."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    kind: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    every: DurationField


class SecurityMeasure(Element):
    id: Id
    kind: Literal["technical", "organisational"] = "technical"
    description: str
    evidence: Evidence | None = None


class Policy(BaseModel):
    """A whole privacy policy."""

    troth: Literal[1] = 1
    policy: PolicyMeta
    promises: list[Promise] = Field(default_factory=list)
    organisation: Organisation
    jurisdictions: list[Jurisdiction] = Field(default_factory=list)
    taxonomy: TaxonomyExtension = Field(default_factory=TaxonomyExtension)
    data_subjects: list[DataSubject] = Field(default_factory=list)
    data_categories: list[DataCategory] = Field(default_factory=list)
    purposes: list[Purpose] = Field(default_factory=list)
    collection_points: list[CollectionPoint] = Field(default_factory=list)
    consents: list[Consent] = Field(default_factory=list)
    retention: list[RetentionRule] = Field(default_factory=list)
    recipients: list[Recipient] = Field(default_factory=list)
    cookies: Cookies | None = None
    restricted_sources: list[RestrictedSource] = Field(default_factory=list)
    commitments: list[Commitment] = Field(default_factory=list)
    security: list[SecurityMeasure] = Field(default_factory=list)
    rights: list[Right] = Field(default_factory=list)
    requests: RequestRules = Field(default_factory=RequestRules)

    model_config = ConfigDict(defer_build=True, extra="forbid")

    @field_validator("jurisdictions")
    @classmethod
    def _unique(cls, v: list[Jurisdiction]) -> list[Jurisdiction]:
        return list(dict.fromkeys(v))

    # --- lookups used by checks, rendering and enforcement ------------------------------------

    def purpose(self, pid: str) -> Purpose | None:
        return next((p for p in self.purposes if p.id == pid), None)

    def consent(self, cid: str) -> Consent | None:
        return next((c for c in self.consents if c.id == cid), None)

    def collected_categories(self) -> list[str]:
        """Categories the policy says it collects (declared ones and those of collection points)."""
        keys = [c.key for c in self.data_categories]
        for cp in self.collection_points:
            keys.extend(cp.categories)
        return list(dict.fromkeys(keys))

    def all_elements(self) -> list[Any]:
        """Every element with a promise list, for coverage and rendering."""
        out: list[Any] = [self.policy, self.organisation, *self.data_subjects]
        out += [*self.data_categories, *self.purposes, *self.collection_points, *self.consents]
        for rule in self.retention:
            out += [rule, *rule.legal_holds]
        out += [*self.recipients, *self.restricted_sources, *self.commitments, *self.security]
        out += self.rights
        if self.cookies:
            out += [self.cookies, *self.cookies.items]
        out.append(self.policy.changes)
        return out


#: the names defined in the model's part modules, re-exported: ``troth.policy.model`` is the one
#: place to import the policy model from
__all__ = [
    "FORMAT_VERSION",
    "Approval",
    "CategoryKey",
    "Dpa",
    "DurationField",
    "Element",
    "Id",
    "Jurisdiction",
    "LegalBasis",
    "OptionalDuration",
    "PromiseId",
    "QueuedKind",
    "Recipient",
    "RecipientNotice",
    "RecipientType",
    "RequestRules",
    "Right",
    "RightKind",
    "SubjectKey",
    "TaxonomyKey",
    "TaxonomyRef",
    "TransferMechanism",
    "UseKey",
]
