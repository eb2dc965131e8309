import Testing
@testable import Currents

@Suite(.timeLimit(.minutes(10))) struct CurrentsEventTypeTests {
    @Test func aliasesBecomeTheirCanonicalNamesAndNothingElseChanges() {
        #expect(CurrentsEventType.canonical("users_campaigns_abort") == "users.campaigns.Abort")
        #expect(CurrentsEventType.canonical("users_canvas_abort") == "users.canvas.Abort")
        // Names of an alias's length that are not aliases, and names of other lengths, as given.
        for text in ["users_campaigns_abors", "users_canvas_aborT", "users.campaigns.Abort", "users.canvas.Abort",
                     "users.messages.email.Send", "", "é"] {
            #expect(CurrentsEventType.canonical(text) == text)
        }
        #expect(CurrentsEventType.aliasLengths == 18...21)
    }
}
