package io.mobilesdk.pose

/**
 * A failure of the model, its manifest, its files or the runtime — not of the caller's arguments (those throw
 * [IllegalArgumentException]) nor of the estimator's state (a closed estimator throws [IllegalStateException]).
 *
 * [status] is the native core's `msdk_status` code (the constants below); the Kotlin side uses the same codes
 * for the same kinds of failure, so an app can branch on [status] whichever engine or processing path ran.
 * The JNI layer constructs this class through the `(int, String)` constructor: keep it.
 */
class PoseException(val status: Int, message: String) : RuntimeException(message) {
    constructor(status: Int, message: String, cause: Throwable?) : this(status, message) {
        if (cause != null) initCause(cause)
    }

    /** `MSDK_ERR_IO` ... for [status], as the C API's `msdk_status_name`. */
    val statusName: String get() = nameOf(status)

    override fun toString(): String = "PoseException[$statusName]: $message"

    companion object {
        const val INVALID_ARGUMENT = 1
        const val INVALID_STATE = 2
        const val IO = 3
        const val INVALID_MODEL = 4
        const val INVALID_MANIFEST = 5
        const val MISMATCH = 6
        const val INFERENCE = 7
        const val NUMERIC = 8
        const val UNSUPPORTED = 9
        const val INTERNAL = 10

        private val NAMES = arrayOf(
            "MSDK_OK", "MSDK_ERR_INVALID_ARGUMENT", "MSDK_ERR_INVALID_STATE", "MSDK_ERR_IO",
            "MSDK_ERR_INVALID_MODEL", "MSDK_ERR_INVALID_MANIFEST", "MSDK_ERR_MISMATCH", "MSDK_ERR_INFERENCE",
            "MSDK_ERR_NUMERIC", "MSDK_ERR_UNSUPPORTED", "MSDK_ERR_INTERNAL",
        )

        @JvmStatic
        fun nameOf(status: Int): String = NAMES.getOrNull(status) ?: "MSDK_STATUS_$status"
    }
}
