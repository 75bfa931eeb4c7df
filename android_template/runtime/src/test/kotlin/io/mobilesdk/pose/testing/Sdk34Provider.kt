package io.mobilesdk.pose.testing

import java.util.TreeMap
import javax.annotation.Priority
import javax.inject.Inject
import org.robolectric.internal.dependency.DependencyResolver
import org.robolectric.pluginapi.Sdk
import org.robolectric.plugins.DefaultSdkProvider

/**
 * Robolectric's SDK list capped at 34, the one SDK whose framework jar (android-all-instrumented
 * 14-robolectric-10818077-i7) maven-offline.sh puts in the local repository. Without the cap Robolectric
 * also asks for the SDK 35 jar when it picks a default SDK, and fails offline. Registered through
 * META-INF/services/org.robolectric.pluginapi.SdkProvider; the priority beats DefaultSdkProvider's.
 */
@Priority(1)
class Sdk34Provider @Inject constructor(resolver: DependencyResolver) : DefaultSdkProvider(resolver) {
    override fun populateSdks(knownSdks: TreeMap<Int, Sdk>) {
        super.populateSdks(knownSdks)
        knownSdks.keys.retainAll { it <= MAX_SDK }
    }

    companion object {
        const val MAX_SDK = 34
    }
}
