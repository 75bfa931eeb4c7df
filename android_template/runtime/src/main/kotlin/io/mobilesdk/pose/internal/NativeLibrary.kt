package io.mobilesdk.pose.internal

/**
 * Loads `libmobilesdk_pose_jni.so` once per process: `System.load(path)` when the system property
 * [PATH_PROPERTY] names a file (host JVM tests), else `System.loadLibrary("mobilesdk_pose_jni")` (an app: the
 * AAR's `jni/<abi>/`). A failure is remembered, not thrown: the TFLite engine then falls back to Kotlin
 * pre/post-processing, and the ExecuTorch engine fails at create() with [missingMessage]. Failures include a
 * library that loads but cannot bind to [NativeCore] (JNI_OnLoad finds it by name): an app minified without
 * the AAR's keep rules, which [missingMessage] names.
 */
internal object NativeLibrary {
    const val NAME = "mobilesdk_pose_jni"
    const val PATH_PROPERTY = "mobilesdk.native.lib"

    /** Null when loaded; otherwise why not. */
    val loadError: Throwable? by lazy {
        try {
            val path = System.getProperty(PATH_PROPERTY)?.trim().orEmpty()
            if (path.isNotEmpty()) System.load(path) else System.loadLibrary(NAME)
            null
        } catch (e: LinkageError) {
            e // UnsatisfiedLinkError; NoClassDefFoundError/NoSuchMethodError from JNI_OnLoad's lookups by name
        } catch (e: SecurityException) {
            e
        }
    }

    val isLoaded: Boolean get() = loadError == null

    /** The ABI the app runs as, for messages ("arm64-v8a"). */
    val abi: String
        get() = try {
            android.os.Build.SUPPORTED_ABIS.firstOrNull() ?: "unknown"
        } catch (e: Throwable) {
            System.getProperty("os.arch") ?: "unknown"
        }

    /** What the AAR lacks and how to rebuild it (the ExecuTorch engine has no Kotlin fallback). */
    fun missingMessage(modelId: String, what: String): String {
        val error = loadError
        if (error != null && (error !is UnsatisfiedLinkError || error.message.orEmpty().contains("JNI_OnLoad"))) {
            return "$what needs the native core: lib$NAME.so was found but could not bind to its Kotlin side ($error). " +
                "If the app is minified (R8/ProGuard), keep the AAR's consumer rules (its proguard.txt): the native core " +
                "finds io.mobilesdk.pose.internal.NativeCore and io.mobilesdk.pose.PoseException by name."
        }
        return "$what needs the native core, but lib$NAME.so did not load (${loadError?.message ?: "not loaded"}). The AAR lacks " +
            "jni/$abi/lib$NAME.so: it was built without an Android NDK (or not for this ABI). Rebuild it with one, e.g. " +
            "ANDROID_NDK_HOME=/path/to/android-ndk mobilesdk build --model $modelId, and make sure the app " +
            "packages that ABI (android { defaultConfig { ndk { abiFilters += \"$abi\" } } })."
    }
}
