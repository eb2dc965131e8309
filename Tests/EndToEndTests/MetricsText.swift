/// The sum of the samples of metric `name` in Prometheus text whose labels contain every
/// `labels` pair, or nil when the text holds no such sample.
///
/// A series that is not exported is nil, never 0: a check that a counter stayed at zero then
/// fails when the relay stops exporting it, instead of passing on its absence.
func metric(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
    var total: Double?
    for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        let parts = line.split(separator: " ")
        guard parts.count == 2, let value = Double(parts[1]) else { continue }
        if labels.allSatisfy({ parts[0].contains("\($0.key)=\"\($0.value)\"") }) { total = (total ?? 0) + value }
    }
    return total
}
