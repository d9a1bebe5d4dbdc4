package palimpsest.hunt.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;

/** The cluster never calls home, never multicasts, joins only the members it is given and binds one interface. */
class HazelcastsTest
{
    @Test
    void aClosedClusterOnTheGivenAddressesOnly()
    {
        final Config c = Hazelcasts.member("n", "127.0.0.1", 5701, List.of("127.0.0.1:5702"), 3);
        assertEquals("false", c.getProperty("hazelcast.phone.home.enabled"));
        assertEquals("false", System.getProperty("hazelcast.phone.home.enabled"));
        assertEquals("false", c.getProperty("hazelcast.socket.bind.any"));
        final JoinConfig j = c.getNetworkConfig().getJoin();
        assertFalse(j.getMulticastConfig().isEnabled(), "no multicast");
        assertFalse(j.getAutoDetectionConfig().isEnabled(), "no cloud/Kubernetes auto-detection");
        assertFalse(j.getAwsConfig().isEnabled() || j.getKubernetesConfig().isEnabled());
        assertTrue(j.getTcpIpConfig().isEnabled());
        assertEquals(List.of("127.0.0.1:5702"), j.getTcpIpConfig().getMembers());
        assertTrue(c.getNetworkConfig().getInterfaces().isEnabled());
        assertEquals(List.of("127.0.0.1"), List.copyOf(c.getNetworkConfig().getInterfaces().getInterfaces()));
        assertEquals(3, c.getExecutorConfig(Hazelcasts.EXECUTOR).getPoolSize(), "--jobs runs at once");
        assertEquals("3", c.getMemberAttributeConfig().getAttribute(Hazelcasts.JOBS_ATTRIBUTE));

        final ClientConfig cc = Hazelcasts.client("n", List.of("127.0.0.1:5701"), 1000);
        assertEquals(List.of("127.0.0.1:5701"), cc.getNetworkConfig().getAddresses());
        assertFalse(cc.getNetworkConfig().getAutoDetectionConfig().isEnabled());
        assertEquals("false", cc.getProperty("hazelcast.client.statistics.enabled"));
    }

    @Test
    void addresses()
    {
        assertEquals(List.of("a:1", "b:65535"), ClusterAddresses.parse("--cluster", "a:1, b:65535"));
        for (final String bad : new String[] {"", "a", ":1", "a:", "a:0", "a:70000", "a:x"})
        {
            assertThrows(IllegalArgumentException.class, () -> ClusterAddresses.parse("--cluster", bad), bad);
        }
    }
}
