# pragma version ~=0.4.3
"""
@title Plan registry
@notice What an insurer sets up for a plan: its terms, its service schedule in dated
        versions, its members, its providers and its pause switch. A schedule change
        applies only to services on or after a future day, so no claim already made or in
        flight is repriced. A provider is the insurer's id for it, with one or more
        submitting accounts; only the provider's owner account moves its payout address.
"""

from modules import packing
from modules import plan_access

uses: plan_access


# @dev A plan's terms as the insurer writes them. Money in cents, days in days.
struct PlanTerms:
    token: address
    effective_day: uint256
    benefit_period_days: uint256
    waiting_period_days: uint256
    timely_filing_days: uint256
    deductible: uint256
    out_of_pocket_max: uint256
    has_benefit_max: bool
    annual_benefit_max: uint256
    coinsurance_bps: uint256
    auto_approve_limit: uint256
    review_quorum: uint256
    has_provider_daily_limit: bool
    provider_daily_limit: uint256


# @dev One code of a plan's service schedule. A limit of 0 means no limit.
struct Service:
    code: bytes32
    fee: uint256
    has_copay: bool
    copay: uint256
    deductible_applies: bool
    prior_auth: bool
    max_units_per_day: uint256
    max_units_per_period: uint256


# @dev A member's coverage dates, by pseudonym. A coverage_end of 0 means open-ended.
# `period`: the benefit period the pseudonym stands for; a claim of another is denied 31.
struct Enrollment:
    member: bytes32
    coverage_start: uint256
    coverage_end: uint256
    period: uint256


MAX_SERVICES_PER_CALL: constant(uint256) = 64
MAX_ENROLMENTS_PER_CALL: constant(uint256) = 256
MAX_SERVICES: constant(uint256) = 65_535
# @dev Schedule versions a plan may have after its first.
MAX_VERSIONS: constant(uint256) = 1_024
# @dev Submitting accounts a provider may have.
MAX_PROVIDER_ACCOUNTS: constant(uint256) = 16
SECONDS_PER_DAY: constant(uint256) = 86_400
NPI_MIN: constant(uint256) = 10**9
NPI_MAX: constant(uint256) = 10**10 - 1


# @dev Per plan, its terms and flags in one word (layout in `packing`), so that a
# submission reads one slot.
plan_words: HashMap[bytes32, uint256]

# @dev Per plan: the provider daily limit in cents (read only when the plan word says
# the plan has one).
daily_limits: HashMap[bytes32, uint256]

# @dev Per plan, schedule version and code: the packed service word (layout in
# `packing`). Index 0 means the code is not covered in that version.
service_words: HashMap[bytes32, HashMap[uint256, HashMap[bytes32, uint256]]]

# @dev Per plan and code: its index, fixed the first time the code appears in any version.
code_indexes: HashMap[bytes32, HashMap[bytes32, uint256]]

# @dev Per plan: how many distinct codes its schedule versions have named.
service_count: HashMap[bytes32, uint256]

# @dev Per plan: its latest schedule version (0: only the first).
latest_version: public(HashMap[bytes32, uint256])

# @dev Per plan and version: the first service day it applies to. Version 0 applies
# from the plan's effective day.
version_days: HashMap[bytes32, HashMap[uint256, uint256]]

# @dev Per plan and member pseudonym: the packed member word (layout in `packing`).
member_words: HashMap[bytes32, HashMap[bytes32, uint256]]

# @dev Per plan and submitting account: its provider's payout, number and active flag,
# cached in one word so that a submission reads one slot.
account_words: HashMap[bytes32, HashMap[address, uint256]]

# @dev Per plan: provider ref to provider number (numbers start at 1).
provider_numbers: HashMap[bytes32, HashMap[bytes32, uint256]]

# @dev Per plan: provider number to its ref.
provider_refs: HashMap[bytes32, HashMap[uint256, bytes32]]

# @dev Per plan and provider number: its owner account (the first one registered).
provider_owners: HashMap[bytes32, HashMap[uint256, address]]

# @dev Per plan and provider number: where its claims are paid, and its debt to the plan
# (layout in `packing`). Every payment reads this word, so it sees the debt for free.
payout_words: HashMap[bytes32, HashMap[uint256, uint256]]

# @dev Per plan and provider number: whether it may submit claims.
provider_active: HashMap[bytes32, HashMap[uint256, bool]]

# @dev Per plan and provider number: its NPI, 0 when not given.
provider_npis: HashMap[bytes32, HashMap[uint256, uint256]]

# @dev Per plan and provider number: its submitting accounts.
provider_accounts: HashMap[bytes32, HashMap[uint256, DynArray[address, MAX_PROVIDER_ACCOUNTS]]]

# @dev Per plan: how many providers it has.
provider_count: HashMap[bytes32, uint256]

# @dev Per plan: its last pause, first day | last day << 32 (0 while it lasts). The filing
# windows stand still while a plan is paused (`_filed_late`).
pauses: HashMap[bytes32, uint256]


# @dev A code of a plan's schedule version was set.
event ServiceSet:
    plan_id: indexed(bytes32)
    code: indexed(bytes32)
    version: indexed(uint256)
    fee: uint256
    has_copay: bool
    copay: uint256
    deductible_applies: bool
    prior_auth: bool
    max_units_per_day: uint256
    max_units_per_period: uint256


# @dev A new schedule version applies to services on or after `effective_day`.
event ScheduleVersion:
    plan_id: indexed(bytes32)
    version: uint256
    effective_day: uint256


# @dev A member was enrolled or their coverage dates changed.
event MemberEnrolled:
    plan_id: indexed(bytes32)
    member: indexed(bytes32)
    coverage_start: uint256
    coverage_end: uint256


# @dev An account was registered as a submitting account of a provider.
event ProviderRegistered:
    plan_id: indexed(bytes32)
    provider_ref: indexed(bytes32)
    account: indexed(address)
    npi: uint256


# @dev A provider added (True) or removed (False) another account that submits for it.
event ProviderAccountSet:
    plan_id: indexed(bytes32)
    provider_ref: indexed(bytes32)
    account: indexed(address)
    added: bool


# @dev The insurer suspended or reinstated a provider.
event ProviderStatusSet:
    plan_id: indexed(bytes32)
    provider_ref: indexed(bytes32)
    active: bool


# @dev A provider changed where its claims are paid.
event PayoutSet:
    plan_id: indexed(bytes32)
    provider_ref: indexed(bytes32)
    payout: address


# @dev The plan was paused or resumed.
event PauseSet:
    plan_id: indexed(bytes32)
    paused: bool


@external
@nonreentrant
def add_services(plan_id: bytes32, services: DynArray[Service, MAX_SERVICES_PER_CALL]):
    """
    @notice Adds codes to the plan's latest schedule version: the first version at any
            time (a schedule larger than one call), a later one only before it is in force.
            A code already in that version cannot be changed here (that would reprice).
    @param plan_id The plan.
    @param services The new codes.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    version: uint256 = self.latest_version[plan_id]
    day: uint256 = self.version_days[plan_id][version]
    if version > 0:
        assert day > block.timestamp // SECONDS_PER_DAY, "claims: version in force"
    self._write_services(plan_id, version, day, services)


@external
@nonreentrant
def update_schedule(plan_id: bytes32, services: DynArray[Service, MAX_SERVICES_PER_CALL], effective_day: uint256):
    """
    @notice Starts a new schedule version, the whole schedule for services on or after
            `effective_day`, which must be after today and after the latest version's.
            Codes not listed are not covered from that day. More codes of the version
            may follow through `add_services` until the day comes.
    @param plan_id The plan.
    @param services The version's codes (the first ones).
    @param effective_day The first service day it applies to.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    assert effective_day > block.timestamp // SECONDS_PER_DAY, "claims: effective day not after today"
    version: uint256 = self.latest_version[plan_id]
    assert effective_day > self.version_days[plan_id][version], "claims: version out of order"
    version += 1
    assert version <= MAX_VERSIONS, "claims: too many versions"
    self.latest_version[plan_id] = version
    self.version_days[plan_id][version] = effective_day
    self.plan_words[plan_id] = packing._with_bit(self.plan_words[plan_id], packing.PLAN_VERSIONED, True)
    log ScheduleVersion(plan_id=plan_id, version=version, effective_day=effective_day)
    self._write_services(plan_id, version, effective_day, services)


@external
@nonreentrant
def enroll(plan_id: bytes32, enrollments: DynArray[Enrollment, MAX_ENROLMENTS_PER_CALL]):
    """
    @notice Enrols members, or updates the coverage dates of enrolled ones. A pseudonym
            is enrolled for one benefit period and stays in it. New dates keep every day
            up to today that the old ones covered.
    @param plan_id The plan.
    @param enrollments Pseudonyms with coverage start and end days (end 0: open-ended) and
           the benefit period of each.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    today: uint256 = block.timestamp // SECONDS_PER_DAY
    plan_word: uint256 = self.plan_words[plan_id]
    length: uint256 = (plan_word >> packing.PLAN_PERIOD_DAYS) & packing.MASK_16
    for e: Enrollment in enrollments:
        assert e.member != empty(bytes32), "claims: invalid member"
        end: uint256 = e.coverage_end
        if end == 0:
            end = packing.OPEN_ENDED
        assert (
            e.coverage_start <= end and end <= packing.OPEN_ENDED and e.period <= packing.MASK_32
        ), "claims: invalid coverage"
        word: uint256 = self.member_words[plan_id][e.member]
        assert word == 0 or (word >> packing.MEMBER_PERIOD) == e.period, "claims: enrolled for another period"
        # @dev Coverage already lived stays: every day of the pseudonym's period up to today
        #      that the old dates covered, the new ones cover (a claim for it may be in
        #      flight). Other days are free: those of another period are the other
        #      pseudonym's (a member who left and comes back).
        if word != 0:
            start_of_period: uint256 = (plan_word & packing.MASK_24) + e.period * length
            first: uint256 = max((word >> packing.MEMBER_START) & packing.MASK_32, start_of_period)
            last: uint256 = min(min((word >> packing.MEMBER_END) & packing.MASK_32, today), start_of_period + length - 1)
            assert first > last or (e.coverage_start <= first and end >= last), "claims: coverage already lived"
        self.member_words[plan_id][e.member] = packing._pack_member(e.coverage_start, end, e.period)
        log MemberEnrolled(plan_id=plan_id, member=e.member, coverage_start=e.coverage_start, coverage_end=e.coverage_end)


@external
@nonreentrant
def register_provider(plan_id: bytes32, provider_ref: bytes32, account: address, npi: uint256):
    """
    @notice Registers a provider with its first account (its owner account, where it is
            paid until it says otherwise), or sets the NPI of a known provider with that
            same account. The insurer never adds an account to a known provider: only the
            provider does (`add_provider_account`), so no account it did not choose acts
            on its claims. An account belongs to at most one provider of a plan.
    @param plan_id The plan.
    @param provider_ref The insurer's id for the provider (not PHI), ASCII, left-aligned.
    @param account The account.
    @param npi The provider's 10-digit NPI, or 0 (kept unless 0).
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    assert provider_ref != empty(bytes32), "claims: invalid provider"
    self._enforce_address(account)
    assert npi == 0 or (npi >= NPI_MIN and npi <= NPI_MAX), "claims: invalid npi"
    number: uint256 = self.provider_numbers[plan_id][provider_ref]
    taken: uint256 = 0
    _: address = empty(address)
    __: bool = False
    _, taken, __ = packing._unpack_account(self.account_words[plan_id][account])
    assert taken == 0 or taken == number, "claims: account taken"
    if number == 0:
        # @dev Numbers fit the account word's 32 bits: 2**32 registrations are beyond any gas.
        number = self.provider_count[plan_id] + 1
        self.provider_count[plan_id] = number
        self.provider_numbers[plan_id][provider_ref] = number
        self.provider_refs[plan_id][number] = provider_ref
        self.provider_owners[plan_id][number] = account
        self.payout_words[plan_id][number] = convert(account, uint256)
        self.provider_active[plan_id][number] = True
        self.provider_accounts[plan_id][number].append(account)
    else:
        assert account == self.provider_owners[plan_id][number], "claims: the provider adds its own accounts"
    if npi != 0:
        self.provider_npis[plan_id][number] = npi
    self.account_words[plan_id][account] = packing._pack_account(
        self.payout_words[plan_id][number], number, self.provider_active[plan_id][number]
    )
    log ProviderRegistered(plan_id=plan_id, provider_ref=provider_ref, account=account, npi=npi)


@external
@nonreentrant
def add_provider_account(plan_id: bytes32, provider_ref: bytes32, account: address):
    """
    @notice Adds another account that submits, and voids, for the provider (a second
            machine, say). Only the provider's owner account may. It is paid as the
            provider is; it cannot change the payout, collect, or add accounts.
    @param plan_id The plan.
    @param provider_ref The provider.
    @param account The account, never yet any provider's in this plan.
    """
    number: uint256 = self._owned_provider(plan_id, provider_ref)
    self._enforce_address(account)
    assert self.account_words[plan_id][account] == 0, "claims: account taken"
    assert len(self.provider_accounts[plan_id][number]) < MAX_PROVIDER_ACCOUNTS, "claims: too many accounts"
    self.provider_accounts[plan_id][number].append(account)
    self.account_words[plan_id][account] = packing._pack_account(
        self.payout_words[plan_id][number], number, self.provider_active[plan_id][number]
    )
    log ProviderAccountSet(plan_id=plan_id, provider_ref=provider_ref, account=account, added=True)


@external
@nonreentrant
def remove_provider_account(plan_id: bytes32, provider_ref: bytes32, account: address):
    """
    @notice Removes an account the provider added (a lost key, say): it no longer submits
            or voids for the provider, and is retired in the plan (no provider adds it
            again, so the claims it sent stay the provider's). Only the provider's owner
            account may, and the owner account itself stays. The provider's claims and
            money are untouched.
    @param plan_id The plan.
    @param provider_ref The provider.
    @param account The added account.
    """
    number: uint256 = self._owned_provider(plan_id, provider_ref)
    assert account != msg.sender, "claims: the owner account stays"
    payout: address = empty(address)
    taken: uint256 = 0
    _: bool = False
    payout, taken, _ = packing._unpack_account(self.account_words[plan_id][account])
    assert taken == number and payout != empty(address), "claims: not an account of the provider"
    kept: DynArray[address, MAX_PROVIDER_ACCOUNTS] = []
    for other: address in self.provider_accounts[plan_id][number]:
        if other != account:
            kept.append(other)
    self.provider_accounts[plan_id][number] = kept
    # @dev Retired: the provider's number stays (the account is taken), no payout, inactive.
    self.account_words[plan_id][account] = number << packing.ACCOUNT_PROVIDER
    log ProviderAccountSet(plan_id=plan_id, provider_ref=provider_ref, account=account, added=False)


@external
@nonreentrant
def set_provider_active(plan_id: bytes32, provider_ref: bytes32, active: bool):
    """
    @notice Suspends a provider (none of its accounts can submit; its approved claims are
            still paid) or reinstates it.
    @param plan_id The plan.
    @param provider_ref The provider.
    @param active False to suspend, True to reinstate.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    number: uint256 = self._provider_number(plan_id, provider_ref)
    self.provider_active[plan_id][number] = active
    self._refresh_accounts(plan_id, number)
    log ProviderStatusSet(plan_id=plan_id, provider_ref=provider_ref, active=active)


@external
@nonreentrant
def set_payout(plan_id: bytes32, provider_ref: bytes32, payout: address):
    """
    @notice Changes where the provider's claims are paid. Only the provider's owner
            account may: the insurer never redirects a provider's money.
    @param plan_id The plan.
    @param provider_ref The provider.
    @param payout The new payout address.
    """
    number: uint256 = self._owned_provider(plan_id, provider_ref)
    self._enforce_address(payout)
    # @dev The debt stays with the provider, wherever it is paid.
    self.payout_words[plan_id][number] = (self.payout_words[plan_id][number] & ~packing.MASK_160) | convert(payout, uint256)
    self._refresh_accounts(plan_id, number)
    log PayoutSet(plan_id=plan_id, provider_ref=provider_ref, payout=payout)


@external
@nonreentrant
def set_paused(plan_id: bytes32, paused: bool):
    """
    @notice The emergency switch: a paused plan takes no claims, reviews, voids or
            withdrawals. Approved claims are still paid: funding and settlement work.
    @param plan_id The plan.
    @param paused True to pause, False to resume.
    """
    plan_access._enforce_role(plan_id, plan_access.Role.ADMIN)
    word: uint256 = self.plan_words[plan_id]
    if paused != packing._bit(word, packing.PLAN_PAUSED):
        today: uint256 = block.timestamp // SECONDS_PER_DAY
        last: uint256 = self.pauses[plan_id]
        first: uint256 = last & packing.MASK_32
        if not paused:
            first |= today << 32
        elif today > (last >> 32) + ((word >> packing.PLAN_FILING_DAYS) & packing.MASK_16):
            # @dev A pause that starts within a filing window of the last one's end
            #      continues it (the days between count as paused: only in providers'
            #      favour), so no claim's window ever spans two recorded pauses.
            first = today
        self.pauses[plan_id] = first
    self.plan_words[plan_id] = packing._with_bit(word, packing.PLAN_PAUSED, paused)
    log PauseSet(plan_id=plan_id, paused=paused)


@internal
@view
def _filed_late(plan_id: bytes32, filing_days: uint256, service_day: uint256) -> bool:
    """
    @dev Whether today is past the filing (and void) window of `service_day`: `filing_days`
         days, and as many more as the plan was paused from the service day on (nothing
         is filed or voided while a pause lasts).
    """
    waited: uint256 = block.timestamp // SECONDS_PER_DAY - service_day
    if waited <= filing_days:
        return False
    last: uint256 = self.pauses[plan_id]
    end: uint256 = last >> 32
    if end <= service_day:
        return True
    return waited > filing_days + end - max(service_day, last & packing.MASK_32)


@external
@view
def member(plan_id: bytes32, member: bytes32) -> (bool, uint256, uint256, uint256):
    """
    @notice A member's enrolment.
    @param plan_id The plan.
    @param member The member's pseudonym.
    @return bool Whether the member is enrolled.
    @return uint256 The coverage start day.
    @return uint256 The coverage end day (0: open-ended).
    @return uint256 The benefit period the pseudonym is enrolled for.
    """
    enrolled: bool = False
    start: uint256 = 0
    end: uint256 = 0
    period: uint256 = 0
    enrolled, start, end, period = packing._unpack_member(self.member_words[plan_id][member])
    if end == packing.OPEN_ENDED:
        end = 0
    return enrolled, start, end, period


@external
@view
def provider(plan_id: bytes32, account: address) -> (address, bool):
    """
    @notice The payout address of an account's provider, and whether it is active.
    @param plan_id The plan.
    @param account A submitting account.
    @return address The payout address (empty when the account is no provider's).
    @return bool Whether it may submit claims.
    """
    payout: address = empty(address)
    number: uint256 = 0
    active: bool = False
    payout, number, active = packing._unpack_account(self.account_words[plan_id][account])
    return payout, active


@external
@view
def provider_of(plan_id: bytes32, account: address) -> (bytes32, bool):
    """
    @notice The provider an account submits for, or submitted for until the provider
            removed it (an account belongs to one provider of a plan, for good).
    @param plan_id The plan.
    @param account The account.
    @return bytes32 The provider's ref (empty when none).
    @return bool Whether the account may submit now: the provider is active, and has not
            removed it.
    """
    payout: address = empty(address)
    number: uint256 = 0
    active: bool = False
    payout, number, active = packing._unpack_account(self.account_words[plan_id][account])
    return self.provider_refs[plan_id][number], active


@external
@view
def service_on(plan_id: bytes32, code: bytes32, day: uint256) -> Service:
    """
    @notice One code of the schedule version in force on a service day.
    @param plan_id The plan.
    @param code The code.
    @param day The service day.
    @return Service The code's terms; `code` is empty when the code is not covered.
    """
    return self._service_view(plan_id, code, day)


@external
@view
def schedule_version(plan_id: bytes32, version: uint256) -> uint256:
    """
    @notice The first service day of a schedule version.
    @param plan_id The plan.
    @param version The version (0 is the first).
    @return uint256 The day.
    """
    return self.version_days[plan_id][version]


@internal
@view
def _service_view(plan_id: bytes32, code: bytes32, day: uint256) -> Service:
    word: uint256 = self.service_words[plan_id][self._version_on(plan_id, self.plan_words[plan_id], day)][code]
    if word == 0:
        return empty(Service)
    svc: packing.ServiceTerms = packing._unpack_service(word)
    return Service(
        code=code,
        fee=svc.fee,
        has_copay=svc.has_copay,
        copay=svc.copay,
        deductible_applies=svc.deductible_applies,
        prior_auth=svc.prior_auth,
        max_units_per_day=svc.max_units_per_day,
        max_units_per_period=svc.max_units_per_period,
    )


@internal
@view
def _last_listing(plan_id: bytes32, version: uint256, code: bytes32) -> uint256:
    """
    @dev The service word of `code` in the last version before `version` that listed it;
         0 if none did.
    """
    earlier: uint256 = version
    for i: uint256 in range(MAX_VERSIONS):
        if earlier == 0:
            break
        earlier -= 1
        word: uint256 = self.service_words[plan_id][earlier][code]
        if word != 0:
            return word
    return 0


@internal
@view
def _version_on(plan_id: bytes32, plan_word: uint256, day: uint256) -> uint256:
    """
    @dev The schedule version in force on a service day. A plan with one version
         answers 0 from its plan word, without reading more storage.
    """
    if not packing._bit(plan_word, packing.PLAN_VERSIONED):
        return 0
    version: uint256 = self.latest_version[plan_id]
    for i: uint256 in range(MAX_VERSIONS):
        if version == 0 or self.version_days[plan_id][version] <= day:
            break
        version -= 1
    return version


@internal
def _create(plan_id: bytes32, terms: PlanTerms, services: DynArray[Service, MAX_SERVICES_PER_CALL]):
    """
    @dev Stores a new plan's terms and first schedule version.
    """
    assert plan_id != empty(bytes32), "claims: invalid plan"
    assert self.plan_words[plan_id] == 0, "claims: plan exists"
    self.plan_words[plan_id] = packing._pack_plan(
        packing.Terms(
            effective_day=terms.effective_day,
            benefit_period_days=terms.benefit_period_days,
            waiting_period_days=terms.waiting_period_days,
            timely_filing_days=terms.timely_filing_days,
            coinsurance_bps=terms.coinsurance_bps,
            has_benefit_max=terms.has_benefit_max,
            paused=False,
            has_daily_limit=terms.has_provider_daily_limit,
            versioned=False,
            review_quorum=terms.review_quorum,
            deductible=terms.deductible,
            out_of_pocket_max=terms.out_of_pocket_max,
            annual_benefit_max=terms.annual_benefit_max,
            auto_approve_limit=terms.auto_approve_limit,
        ),
        terms.provider_daily_limit,
    )
    if terms.has_provider_daily_limit:
        self.daily_limits[plan_id] = terms.provider_daily_limit
    self.version_days[plan_id][0] = terms.effective_day
    self._write_services(plan_id, 0, terms.effective_day, services)


@internal
def _write_services(plan_id: bytes32, version: uint256, day: uint256, services: DynArray[Service, MAX_SERVICES_PER_CALL]):
    """
    @dev Adds codes to a schedule version. A code's max_units_per_period may differ from
         the last version that listed it (none: no limit) only when the version starts a
         benefit period, so units always count from a period's start. The last version
         that listed it, not the version before: a version that leaves a code out, then one
         that lists it again, would change its limit mid-period.
    """
    count: uint256 = self.service_count[plan_id]
    period_start: bool = packing._starts_period(self.plan_words[plan_id], day)
    for s: Service in services:
        assert s.code != empty(bytes32) and packing._service_fits(
            s.fee, s.copay, s.max_units_per_day, s.max_units_per_period
        ), "claims: invalid service"
        assert self.service_words[plan_id][version][s.code] == 0, "claims: service exists"
        if version > 0 and not period_start:
            before: uint256 = packing._units_per_period(self._last_listing(plan_id, version, s.code))
            assert before == s.max_units_per_period, "claims: unit limit mid-period"
        index: uint256 = self.code_indexes[plan_id][s.code]
        if index == 0:
            count += 1
            assert count <= MAX_SERVICES, "claims: schedule full"
            index = count
            self.code_indexes[plan_id][s.code] = index
        self.service_words[plan_id][version][s.code] = packing._pack_service(
            packing.ServiceTerms(
                index=index,
                fee=s.fee,
                copay=s.copay,
                has_copay=s.has_copay,
                deductible_applies=s.deductible_applies,
                prior_auth=s.prior_auth,
                max_units_per_day=s.max_units_per_day,
                max_units_per_period=s.max_units_per_period,
            )
        )
        log ServiceSet(
            plan_id=plan_id,
            code=s.code,
            version=version,
            fee=s.fee,
            has_copay=s.has_copay,
            copay=s.copay,
            deductible_applies=s.deductible_applies,
            prior_auth=s.prior_auth,
            max_units_per_day=s.max_units_per_day,
            max_units_per_period=s.max_units_per_period,
        )
    self.service_count[plan_id] = count


@internal
@pure
def _enforce_address(account: address):
    assert account != empty(address), "claims: zero address"


@internal
@view
def _provider_number(plan_id: bytes32, provider_ref: bytes32) -> uint256:
    number: uint256 = self.provider_numbers[plan_id][provider_ref]
    assert number != 0, "claims: unknown provider"
    return number


@internal
@view
def _owned_provider(plan_id: bytes32, provider_ref: bytes32) -> uint256:
    """
    @dev The provider's number, when the caller is its owner account.
    """
    number: uint256 = self._provider_number(plan_id, provider_ref)
    assert msg.sender == self.provider_owners[plan_id][number], "claims: not the provider"
    return number


@internal
def _refresh_accounts(plan_id: bytes32, number: uint256):
    """
    @dev Rewrites the cached account words of a provider after its payout or status changed.
    """
    word: uint256 = packing._pack_account(
        self.payout_words[plan_id][number], number, self.provider_active[plan_id][number]
    )
    for account: address in self.provider_accounts[plan_id][number]:
        self.account_words[plan_id][account] = word


@internal
@view
def _payout(plan_id: bytes32, number: uint256) -> (address, uint256):
    """
    @dev A provider's payout address and its debt to the plan, in cents.
    """
    word: uint256 = self.payout_words[plan_id][number]
    return convert(word & packing.MASK_160, address), word >> packing.PAYOUT_DEBT


@internal
def _set_debt(plan_id: bytes32, number: uint256, debt: uint256):
    """
    @dev Sets a provider's debt; its accounts' cached in-debt flag follows when it turns
         on or off, so that every account's next payment sees it.
    """
    word: uint256 = self.payout_words[plan_id][number]
    self.payout_words[plan_id][number] = (word & packing.MASK_160) | (debt << packing.PAYOUT_DEBT)
    if (word >> packing.PAYOUT_DEBT == 0) != (debt == 0):
        self._refresh_accounts(plan_id, number)
