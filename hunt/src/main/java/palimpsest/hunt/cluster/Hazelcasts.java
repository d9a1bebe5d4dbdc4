package palimpsest.hunt.cluster;

import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

import com.hazelcast.client.config.ClientConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;

/**
 * The one place Hazelcast is configured: a closed cluster on the addresses it is given, nothing
 * else. No phone-home, no multicast, no cloud or Kubernetes auto-detection, TCP/IP join to the
 * listed members only, bound to one interface (127.0.0.1 unless told otherwise).
 */
public final class Hazelcasts
{
    /** Default cluster name: members and hunts with another name (--name) never mix with these. */
    public static final String CLUSTER_NAME = "palimpsest-hunt";
    static final String EXECUTOR = "pal-hunt";
    /** Member attribute: how many runs a member takes at once. */
    static final String JOBS_ATTRIBUTE = "pal.jobs";

    /** Held so the level set here is not lost when the logger is collected. */
    private static final Logger HAZELCAST_LOG = Logger.getLogger("com.hazelcast");

    static
    {
        // Off before any Hazelcast class reads it (members and clients alike).
        System.setProperty("hazelcast.phone.home.enabled", "false");
        if (System.getProperty("hazelcast.logging.level") == null)
        {
            // Hazelcast's own warnings (a member suspected dead, a refused connection) are what the
            // retry logic handles; pal worker reports membership itself.
            HAZELCAST_LOG.setLevel(Level.SEVERE);
        }
    }

    private Hazelcasts()
    {
    }

    static Config member(final String name, final String bind, final int port, final List<String> join, final int jobs)
    {
        final Config c = new Config();
        c.setClusterName(name);
        c.setProperty("hazelcast.phone.home.enabled", "false");
        c.setProperty("hazelcast.socket.bind.any", "false");
        c.setProperty("hazelcast.logging.type", "jdk");
        c.setProperty("hazelcast.shutdownhook.policy", "TERMINATE");
        c.getMemberAttributeConfig().setAttribute(JOBS_ATTRIBUTE, Integer.toString(jobs));
        final NetworkConfig n = c.getNetworkConfig();
        n.setPort(port).setPortAutoIncrement(true).setPortCount(100);
        n.setPublicAddress(bind);
        n.getInterfaces().setEnabled(true).addInterface(bind);
        final JoinConfig j = n.getJoin();
        j.getMulticastConfig().setEnabled(false);
        j.getAutoDetectionConfig().setEnabled(false);
        j.getAwsConfig().setEnabled(false);
        j.getKubernetesConfig().setEnabled(false);
        j.getTcpIpConfig().setEnabled(true).setMembers(join.isEmpty() ? List.of(bind) : join);
        c.getExecutorConfig(EXECUTOR).setPoolSize(jobs).setQueueCapacity(0).setStatisticsEnabled(false);
        c.getJetConfig().setEnabled(false);
        return c;
    }

    static ClientConfig client(final String name, final List<String> addresses, final long connectTimeoutMillis)
    {
        final ClientConfig c = new ClientConfig();
        c.setClusterName(name);
        c.setProperty("hazelcast.logging.type", "jdk");
        c.setProperty("hazelcast.client.statistics.enabled", "false");
        c.getNetworkConfig().setAddresses(addresses).setSmartRouting(true);
        c.getNetworkConfig().getAutoDetectionConfig().setEnabled(false);
        c.getConnectionStrategyConfig().getConnectionRetryConfig()
            .setClusterConnectTimeoutMillis(connectTimeoutMillis)
            .setInitialBackoffMillis(100)
            .setMaxBackoffMillis(1000);
        return c;
    }
}
