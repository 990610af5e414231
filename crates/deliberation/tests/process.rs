//! The five deliberations: the transition table against an explicit list,
//! each step's requirements, and that nothing leaves an end state.

use jinlin_deliberation::process::*;
use jinlin_deliberation::vote::{Matter, Outcome};
use proptest::prelude::*;

use ActionKind::*;
use Actor::*;
use State::*;

/// Every legal (state, action, actor) and where it leads. Anything not here
/// is refused.
const LEGAL: &[(State, ActionKind, Actor, State)] = &[
    (Propose, Advance, CompoundPartyOrg, Motion),
    (Motion, Advance, CompoundPartyOrg, Consult),
    (Consult, Advance, CompoundPartyOrg, PublicReview),
    (PublicReview, Advance, CompoundPartyOrg, Evaluate),
    (Evaluate, Advance, CompoundPartyOrg, Closed),
    (Motion, SendBack, CompoundPartyOrg, Propose),
    (Motion, SendBack, Community, Propose),
    (Motion, SendBack, Street, Propose),
    (Consult, SendBack, CompoundPartyOrg, Motion),
    (Consult, SendBack, Community, Motion),
    (Consult, SendBack, Street, Motion),
    (PublicReview, SendBack, CompoundPartyOrg, Consult),
    (PublicReview, SendBack, Community, Consult),
    (PublicReview, SendBack, Street, Consult),
    (Evaluate, SendBack, CompoundPartyOrg, PublicReview),
    (Evaluate, SendBack, Community, PublicReview),
    (Evaluate, SendBack, Street, PublicReview),
    (Propose, Reject, CompoundPartyOrg, Rejected),
    (Propose, Reject, Community, Rejected),
    (Propose, Reject, Street, Rejected),
    (Motion, Reject, CompoundPartyOrg, Rejected),
    (Motion, Reject, Community, Rejected),
    (Motion, Reject, Street, Rejected),
    (Consult, Reject, CompoundPartyOrg, Rejected),
    (Consult, Reject, Community, Rejected),
    (Consult, Reject, Street, Rejected),
    (PublicReview, Reject, CompoundPartyOrg, Rejected),
    (PublicReview, Reject, Community, Rejected),
    (PublicReview, Reject, Street, Rejected),
    (Propose, Withdraw, Proposer, Withdrawn),
    (Motion, Withdraw, Proposer, Withdrawn),
    (Consult, Withdraw, Proposer, Withdrawn),
];

fn expected(state: State, action: ActionKind, actor: Actor) -> Result<State, TransitionError> {
    if let Some(&(.., to)) = LEGAL
        .iter()
        .find(|(s, a, who, _)| (*s, *a, *who) == (state, action, actor))
    {
        return Ok(to);
    }
    if matches!(state, Closed | Rejected | Withdrawn) {
        Err(TransitionError::Terminal)
    } else if LEGAL.iter().any(|(s, a, ..)| (*s, *a) == (state, action)) {
        Err(TransitionError::Forbidden)
    } else {
        Err(TransitionError::Unavailable)
    }
}

#[test]
fn the_table_matches_the_list_for_every_state_action_and_actor() {
    let mut legal = 0;
    for state in State::ALL {
        for action in ActionKind::ALL {
            for actor in Actor::ALL {
                let got = allowed(state, action, actor);
                assert_eq!(
                    got,
                    expected(state, action, actor),
                    "{state:?} {action:?} {actor:?}"
                );
                legal += usize::from(got.is_ok());
            }
        }
    }
    assert_eq!(legal, LEGAL.len());
}

#[test]
fn the_refusals_are_the_ones_expected() {
    use TransitionError::*;
    assert_eq!(
        allowed(Propose, SendBack, CompoundPartyOrg),
        Err(Unavailable)
    );
    assert_eq!(allowed(PublicReview, Withdraw, Proposer), Err(Unavailable));
    assert_eq!(allowed(Evaluate, Withdraw, Proposer), Err(Unavailable));
    assert_eq!(allowed(Evaluate, Reject, Street), Err(Unavailable));
    assert_eq!(allowed(Propose, Advance, Proposer), Err(Forbidden));
    assert_eq!(allowed(Consult, Advance, Community), Err(Forbidden));
    assert_eq!(allowed(Motion, Withdraw, CompoundPartyOrg), Err(Forbidden));
    assert_eq!(allowed(Consult, Reject, Proposer), Err(Forbidden));
    for actor in Actor::ALL {
        assert_eq!(allowed(Closed, Advance, actor), Err(Terminal));
        assert_eq!(allowed(Rejected, SendBack, actor), Err(Terminal));
        assert_eq!(allowed(Withdrawn, Withdraw, actor), Err(Terminal));
    }
}

// ---------------------------------------------------------------------------
// Records and requirements

fn meeting(parties: &[Party]) -> Record {
    Record::Consult {
        held_at: 1_700_000_000,
        attendees: parties
            .iter()
            .map(|p| Attendee {
                party: *p,
                name: format!("{p:?} delegate"),
            })
            .collect(),
        minutes: "Agreed to repaint the railings.".into(),
    }
}

const DAY: i64 = 86_400;

fn publication(days: i64, vote: Option<Outcome>) -> Record {
    Record::PublicReview {
        published_from: 1_700_000_000,
        published_until: 1_700_000_000 + days * DAY,
        vote,
    }
}

fn advance(record: Record) -> Action {
    Action::Advance { record }
}

fn four_parties() -> Vec<Party> {
    ProcessSettings::default().consult_parties
}

/// Brings a new deliberation to `state` along the forward path.
fn at(state: State, joint_decision: Option<Matter>) -> Deliberation {
    let s = ProcessSettings::default();
    let records = [
        Record::Propose {
            summary: "Residents ask for new railings.".into(),
        },
        Record::Motion {
            plan: "Replace the railings of buildings 3 to 5.".into(),
            joint_decision,
        },
        meeting(&four_parties()),
        publication(7, joint_decision.map(|_| Outcome::Passed)),
        Record::Evaluate {
            respondents: 40,
            satisfied: 31,
        },
    ];
    let mut d = Deliberation::new();
    for record in records {
        if d.state == state {
            break;
        }
        d = d.apply(&advance(record), CompoundPartyOrg, &s).unwrap();
    }
    assert_eq!(d.state, state);
    d
}

#[test]
fn a_deliberation_runs_from_proposal_to_closed() {
    let d = at(Closed, Some(Matter::UseMaintenanceFund));
    assert_eq!(d.joint_decision, Some(Matter::UseMaintenanceFund));
    let d = at(Closed, None);
    assert_eq!(d.joint_decision, None);
}

#[test]
fn every_step_lists_its_requirements() {
    let s = ProcessSettings::default();
    assert_eq!(requirements(Propose, None, &s), vec![Requirement::Summary]);
    assert_eq!(requirements(Motion, None, &s), vec![Requirement::Plan]);
    assert_eq!(
        requirements(Consult, None, &s),
        vec![
            Requirement::Attendance(Party::CompoundPartyOrg),
            Requirement::Attendance(Party::OwnersCommittee),
            Requirement::Attendance(Party::PropertyCompany),
            Requirement::Attendance(Party::Community),
            Requirement::Minutes,
        ]
    );
    assert_eq!(
        requirements(PublicReview, None, &s),
        vec![Requirement::PublicationDays(7)]
    );
    assert_eq!(
        requirements(PublicReview, Some(Matter::Rebuild), &s),
        vec![Requirement::PublicationDays(7), Requirement::VotePassed]
    );
    assert_eq!(
        requirements(Evaluate, None, &s),
        vec![Requirement::Respondents(1)]
    );
    for end in [Closed, Rejected, Withdrawn] {
        assert!(requirements(end, Some(Matter::Covenant), &s).is_empty());
    }
}

#[test]
fn empty_summaries_and_plans_are_refused() {
    let s = ProcessSettings::default();
    let err = Deliberation::new()
        .apply(
            &advance(Record::Propose {
                summary: "  ".into(),
            }),
            CompoundPartyOrg,
            &s,
        )
        .unwrap_err();
    assert_eq!(err, ProcessError::Unmet(vec![Requirement::Summary]));
    let err = at(Motion, None)
        .apply(
            &advance(Record::Motion {
                plan: String::new(),
                joint_decision: None,
            }),
            CompoundPartyOrg,
            &s,
        )
        .unwrap_err();
    assert_eq!(err, ProcessError::Unmet(vec![Requirement::Plan]));
}

#[test]
fn a_record_of_another_step_is_refused() {
    let s = ProcessSettings::default();
    let err = at(Consult, None)
        .apply(&advance(publication(30, None)), CompoundPartyOrg, &s)
        .unwrap_err();
    assert_eq!(err, ProcessError::WrongRecord { expected: Consult });
}

#[test]
fn the_consultation_needs_all_four_parties_and_minutes() {
    let s = ProcessSettings::default();
    let d = at(Consult, None);
    assert_eq!(
        d.apply(&advance(meeting(&four_parties())), CompoundPartyOrg, &s)
            .unwrap()
            .state,
        PublicReview
    );
    for missing in four_parties() {
        let parties: Vec<Party> = four_parties()
            .into_iter()
            .filter(|p| *p != missing)
            .collect();
        let parties: Vec<Party> = parties.into_iter().chain([Party::Resident]).collect();
        assert_eq!(
            d.apply(&advance(meeting(&parties)), CompoundPartyOrg, &s),
            Err(ProcessError::Unmet(vec![Requirement::Attendance(missing)]))
        );
    }
    // An attendee without a name does not count; nor do empty minutes.
    let record = Record::Consult {
        held_at: 0,
        attendees: four_parties()
            .into_iter()
            .map(|party| Attendee {
                party,
                name: if party == Party::PropertyCompany {
                    " ".into()
                } else {
                    "x".into()
                },
            })
            .collect(),
        minutes: "\n".into(),
    };
    assert_eq!(
        d.apply(&advance(record), CompoundPartyOrg, &s),
        Err(ProcessError::Unmet(vec![
            Requirement::Attendance(Party::PropertyCompany),
            Requirement::Minutes
        ]))
    );
    // A compound without an owners' committee configures it away.
    let without = ProcessSettings {
        consult_parties: vec![
            Party::CompoundPartyOrg,
            Party::PropertyCompany,
            Party::Community,
        ],
        ..ProcessSettings::default()
    };
    let record = meeting(&[
        Party::CompoundPartyOrg,
        Party::PropertyCompany,
        Party::Community,
    ]);
    assert!(
        d.apply(&advance(record), CompoundPartyOrg, &without)
            .is_ok()
    );
}

#[test]
fn publication_lasts_at_least_the_minimum() {
    let s = ProcessSettings::default();
    let d = at(PublicReview, None);
    assert!(
        d.apply(&advance(publication(7, None)), CompoundPartyOrg, &s)
            .is_ok()
    );
    let one_second_short = Record::PublicReview {
        published_from: 1_000,
        published_until: 1_000 + 7 * DAY - 1,
        vote: None,
    };
    assert_eq!(
        d.apply(&advance(one_second_short), CompoundPartyOrg, &s),
        Err(ProcessError::Unmet(vec![Requirement::PublicationDays(7)]))
    );
    let backwards = Record::PublicReview {
        published_from: i64::MAX,
        published_until: i64::MIN,
        vote: None,
    };
    assert!(d.apply(&advance(backwards), CompoundPartyOrg, &s).is_err());
    let longer = ProcessSettings {
        min_publication_days: 15,
        ..ProcessSettings::default()
    };
    assert!(
        d.apply(&advance(publication(14, None)), CompoundPartyOrg, &longer)
            .is_err()
    );
    assert!(
        d.apply(&advance(publication(15, None)), CompoundPartyOrg, &longer)
            .is_ok()
    );
}

#[test]
fn a_joint_decision_needs_a_passed_vote() {
    let s = ProcessSettings::default();
    let d = at(PublicReview, Some(Matter::PropertyManager));
    assert_eq!(
        d.apply(&advance(publication(7, None)), CompoundPartyOrg, &s),
        Err(ProcessError::Unmet(vec![Requirement::VotePassed]))
    );
    for failed in [Outcome::FailedParticipation, Outcome::FailedApproval] {
        assert_eq!(
            d.apply(&advance(publication(7, Some(failed))), CompoundPartyOrg, &s),
            Err(ProcessError::Unmet(vec![Requirement::VotePassed]))
        );
    }
    let next = d
        .apply(
            &advance(publication(7, Some(Outcome::Passed))),
            CompoundPartyOrg,
            &s,
        )
        .unwrap();
    assert_eq!(next.state, Evaluate);
}

#[test]
fn after_a_failed_vote_the_deliberation_goes_back_to_consult_or_is_rejected() {
    let s = ProcessSettings::default();
    let d = at(PublicReview, Some(Matter::CommonParts));
    let back = d
        .apply(
            &Action::SendBack {
                reason: "Too few owners voted; consult again and hold a new vote.".into(),
            },
            CompoundPartyOrg,
            &s,
        )
        .unwrap();
    assert_eq!(back.state, Consult);
    assert_eq!(back.joint_decision, Some(Matter::CommonParts));
    // The plan may be reworked at the motion step, and the matter with it.
    let motion = back
        .apply(
            &Action::SendBack {
                reason: "Rework the plan.".into(),
            },
            Community,
            &s,
        )
        .unwrap();
    let reworked = motion
        .apply(
            &advance(Record::Motion {
                plan: "Railings only, no change of use.".into(),
                joint_decision: None,
            }),
            CompoundPartyOrg,
            &s,
        )
        .unwrap();
    assert_eq!(reworked.joint_decision, None);
    let rejected = d
        .apply(
            &Action::Reject {
                reason: "The owners said no.".into(),
            },
            Street,
            &s,
        )
        .unwrap();
    assert_eq!(rejected.state, Rejected);
}

#[test]
fn a_vote_held_on_a_matter_that_is_no_joint_decision_must_have_passed_too() {
    let s = ProcessSettings::default();
    let d = at(PublicReview, None);
    assert_eq!(
        d.apply(
            &advance(publication(7, Some(Outcome::FailedApproval))),
            CompoundPartyOrg,
            &s
        ),
        Err(ProcessError::Unmet(vec![Requirement::VotePassed]))
    );
    assert!(
        d.apply(
            &advance(publication(7, Some(Outcome::Passed))),
            CompoundPartyOrg,
            &s
        )
        .is_ok()
    );
}

#[test]
fn the_evaluation_needs_respondents() {
    let s = ProcessSettings::default();
    let d = at(Evaluate, None);
    let eval = |respondents, satisfied| {
        advance(Record::Evaluate {
            respondents,
            satisfied,
        })
    };
    assert_eq!(
        d.apply(&eval(0, 0), CompoundPartyOrg, &s),
        Err(ProcessError::Unmet(vec![Requirement::Respondents(1)]))
    );
    assert!(d.apply(&eval(3, 4), CompoundPartyOrg, &s).is_err());
    assert_eq!(
        d.apply(&eval(1, 0), CompoundPartyOrg, &s).unwrap().state,
        Closed
    );
}

#[test]
fn sending_back_and_rejecting_need_a_reason() {
    let s = ProcessSettings::default();
    let d = at(Consult, None);
    assert_eq!(
        d.apply(&Action::SendBack { reason: " ".into() }, Community, &s),
        Err(ProcessError::ReasonRequired)
    );
    assert_eq!(
        d.apply(
            &Action::Reject {
                reason: String::new()
            },
            Street,
            &s
        ),
        Err(ProcessError::ReasonRequired)
    );
    assert_eq!(
        d.apply(&Action::Withdraw, Proposer, &s).unwrap().state,
        Withdrawn
    );
}

#[test]
fn the_table_is_checked_before_the_record() {
    let s = ProcessSettings::default();
    // The proposer may not advance, whatever the record.
    assert_eq!(
        Deliberation::new().apply(&advance(publication(0, None)), Proposer, &s),
        Err(ProcessError::Transition(TransitionError::Forbidden))
    );
    assert_eq!(
        at(Closed, None).apply(
            &Action::Reject {
                reason: String::new()
            },
            Street,
            &s
        ),
        Err(ProcessError::Transition(TransitionError::Terminal))
    );
}

#[test]
fn the_proposer_may_withdraw_only_before_public_review() {
    let s = ProcessSettings::default();
    for state in [Propose, Motion, Consult] {
        assert_eq!(
            at(state, None)
                .apply(&Action::Withdraw, Proposer, &s)
                .unwrap()
                .state,
            Withdrawn
        );
    }
    for state in [PublicReview, Evaluate] {
        assert_eq!(
            at(state, None).apply(&Action::Withdraw, Proposer, &s),
            Err(ProcessError::Transition(TransitionError::Unavailable))
        );
    }
}

// ---------------------------------------------------------------------------
// Property tests

fn state() -> impl Strategy<Value = State> {
    prop::sample::select(State::ALL.to_vec())
}

fn action_kind() -> impl Strategy<Value = ActionKind> {
    prop::sample::select(ActionKind::ALL.to_vec())
}

fn actor() -> impl Strategy<Value = Actor> {
    prop::sample::select(Actor::ALL.to_vec())
}

fn matter() -> impl Strategy<Value = Option<Matter>> {
    prop::option::of(prop::sample::select(Matter::ALL.to_vec()))
}

fn outcome() -> impl Strategy<Value = Option<Outcome>> {
    prop::option::of(prop::sample::select(vec![
        Outcome::Passed,
        Outcome::FailedParticipation,
        Outcome::FailedApproval,
    ]))
}

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(vec![String::new(), " ".into(), "a reason".into()])
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        text().prop_map(|summary| Record::Propose { summary }),
        (text(), matter()).prop_map(|(plan, joint_decision)| Record::Motion {
            plan,
            joint_decision
        }),
        (
            prop::collection::vec(
                prop::sample::select(vec![
                    Party::CompoundPartyOrg,
                    Party::OwnersCommittee,
                    Party::PropertyCompany,
                    Party::Community,
                    Party::Resident,
                ]),
                0..6
            ),
            text()
        )
            .prop_map(|(parties, minutes)| Record::Consult {
                held_at: 0,
                attendees: parties
                    .into_iter()
                    .map(|party| Attendee {
                        party,
                        name: "n".into()
                    })
                    .collect(),
                minutes,
            }),
        (0i64..20, outcome()).prop_map(|(days, vote)| publication(days, vote)),
        (0u32..4, 0u32..4).prop_map(|(respondents, satisfied)| Record::Evaluate {
            respondents,
            satisfied
        }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        2 => record().prop_map(|record| Action::Advance { record }),
        1 => text().prop_map(|reason| Action::SendBack { reason }),
        1 => text().prop_map(|reason| Action::Reject { reason }),
        1 => Just(Action::Withdraw),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn no_sequence_of_table_moves_leaves_an_end_state(
        start in state(),
        moves in prop::collection::vec((action_kind(), actor()), 0..60),
    ) {
        let mut s = start;
        let mut ended = s.is_terminal();
        for (action, who) in moves {
            match allowed(s, action, who) {
                Ok(next) => {
                    prop_assert!(!ended, "{s:?} moved to {next:?}");
                    // Forward one step, back one step, or to an end.
                    let i = State::ALL.iter().position(|x| *x == s).unwrap();
                    let j = State::ALL.iter().position(|x| *x == next).unwrap();
                    prop_assert!(j == i + 1 || j + 1 == i || matches!(next, Rejected | Withdrawn));
                    s = next;
                }
                Err(e) => prop_assert_eq!(e == TransitionError::Terminal, ended),
            }
            ended = s.is_terminal();
        }
    }

    #[test]
    fn no_sequence_of_actions_leaves_an_end_state(
        start in state(),
        joint_decision in matter(),
        moves in prop::collection::vec((action(), actor()), 0..80),
    ) {
        let settings = ProcessSettings::default();
        let mut d = Deliberation { state: start, joint_decision };
        for (action, who) in moves {
            let before = d;
            match d.apply(&action, who, &settings) {
                Ok(next) => {
                    prop_assert!(!before.state.is_terminal());
                    prop_assert_eq!(Ok(next.state), allowed(before.state, action.kind(), who));
                    if next.state == Evaluate && before.state == PublicReview {
                        // Public review is left forward only over a passed vote when
                        // the matter is a joint decision.
                        if before.joint_decision.is_some() {
                            let Action::Advance { record: Record::PublicReview { vote, .. } } = &action
                            else { unreachable!() };
                            prop_assert_eq!(*vote, Some(Outcome::Passed));
                        }
                    }
                    d = next;
                }
                Err(_) => prop_assert_eq!(d, before),
            }
            if before.state.is_terminal() {
                prop_assert_eq!(d, before);
            }
        }
    }
}
