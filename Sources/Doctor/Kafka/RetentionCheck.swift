/// The retention line: the dead-letter topic and the source topics keep records at least
/// `dead_letter.max_age`.
///
/// Parked records are read again from the source topic (the relay keeps only their location):
/// one gone by then is parked as its mParticle batch, without its original key, value and
/// headers (`currents.relay.original: gone`). And the dead-letter topic must keep what it holds
/// until someone redrives it.
enum RetentionCheck {
    static let name = "kafka retention"

    /// - Parameters:
    ///   - maxAge: `dead_letter.max_age`.
    ///   - deadLetter: The dead-letter topic and its retention; nil when it does not exist.
    ///   - sources: Each existing source topic and its retention.
    static func evaluate(maxAge: Duration, deadLetter: (topic: String, retention: TopicRetention)?,
                         sources: [(topic: String, retention: TopicRetention)]) -> DoctorCheck {
        let all = (deadLetter.map { [$0] } ?? []) + sources
        guard !all.isEmpty else { return .skipped(name, "no topic to compare") }
        let limit = ReadableDuration.span(maxAge)
        let unknown = all.compactMap { entry -> String? in
            if case .unknown(let why) = entry.retention { return why }
            return nil
        }
        if unknown.count == all.count {
            return .skipped(name, "unknown, not compared with dead_letter.max_age (\(limit)): \(unknown[0])")
        }
        var listed = all.map { "\($0.topic) \($0.retention.text)" }.joined(separator: ", ")
        listed += " against dead_letter.max_age \(limit)"
        var problems: [String] = []
        var fixes: [String] = []
        if let deadLetter, deadLetter.retention.isShorter(than: maxAge) {
            problems.append("the dead-letter topic keeps records \(deadLetter.retention.text), less than dead_letter.max_age: parked records may be deleted before anyone redrives them")
            fixes.append("raise retention.ms of \(deadLetter.topic) well above \(limit) (7 d or more leaves time to redrive)")
        }
        let short = sources.filter { $0.retention.isShorter(than: maxAge) }
        if !short.isEmpty {
            let topics = short.map(\.topic).joined(separator: ", ")
            problems.append("\(topics) keep\(short.count == 1 ? "s" : "") records less than dead_letter.max_age: a record parked after it is gone is parked as its mParticle batch, without its original (currents.relay.original: gone)")
            fixes.append("raise retention.ms of \(topics) above \(limit), or lower dead_letter.max_age")
        }
        guard problems.isEmpty else {
            return .warning(name, "\(listed): \(problems.joined(separator: "; "))", fix: fixes.joined(separator: "; "))
        }
        return .passed(name, listed)
    }
}
