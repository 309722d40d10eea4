import EdmoCore
import EdmoService
import Foundation

extension Logger {
    func access(_ request: Request, status: Int, micros: UInt64) {
        let hundredths = micros / 10
        var line = "access: "
        line.reserveCapacity(128)
        line += Self.escape(request.method)
        line += " "
        line += Self.escape(request.path)
        line += " "
        line += String(status)
        line += " "
        line += String(hundredths / 100)
        line += hundredths % 100 < 10 ? ".0" : "."
        line += String(hundredths % 100)
        line += "ms id="
        line += request.requestId
        write(line)
    }
}
