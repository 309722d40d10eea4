import EdmoCore
import EdmoService
import Foundation

extension Logger {
    func access(_ request: Request, status: Int, micros: UInt64) {
        let hundredths = micros / 10
        let ms = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
        write("access: \(Self.escape(request.method)) \(Self.escape(request.path)) \(status) \(ms)ms id=\(request.requestId)")
    }
}
