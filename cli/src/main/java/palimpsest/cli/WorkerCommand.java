package palimpsest.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import palimpsest.hunt.LocalRunner;
import palimpsest.hunt.cluster.ClusterAddresses;
import palimpsest.hunt.cluster.Worker;

@Command(name = "worker", mixinStandardHelpOptions = true,
    header = "Start a cluster member that runs the seeds of 'pal hunt --cluster'.",
    description = {"Start a Hazelcast member that takes 'pal hunt --cluster' runs: it records",
        "and judges each seed here and sends back only the verdict, the signature and,",
        "for a failure, the packed trace. Runs until stopped (Ctrl-C). The cluster is",
        "closed: TCP/IP join to the --join addresses only, no multicast, no phone-home."})
final class WorkerCommand implements Callable<Integer>
{
    private final Io io;

    @Option(names = "--join", paramLabel = "HOST:PORT,...", description = "Members of the cluster to join (none: start a new cluster).")
    String join;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "5701",
        description = "Port to listen on, or the next free one above it (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--bind", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
        description = "Interface to bind and announce (default: ${DEFAULT-VALUE}; a machine's own address to serve others).")
    String bind;

    @Option(names = "--jobs", paramLabel = "J", description = "Runs at once on this member (default: the number of cores).")
    Integer jobs;

    @Option(names = "--name", paramLabel = "NAME", defaultValue = palimpsest.hunt.cluster.Hazelcasts.CLUSTER_NAME,
        description = "Cluster name: members of another name never join this one (default: ${DEFAULT-VALUE}).")
    String name;

    @Option(names = "--scratch", paramLabel = "DIR", description = "Where runs in progress are recorded (default: a temporary directory).")
    Path scratch;

    @picocli.CommandLine.Mixin
    PluginOptions plugins = new PluginOptions();

    WorkerCommand(final Io io)
    {
        this.io = io;
    }

    @Override
    public Integer call() throws InterruptedException
    {
        if (port < 1 || port > 65535)
        {
            throw new UserError("--port must be 1..65535, got " + port);
        }
        final List<String> members = join == null ? List.of() : ClusterAddresses.parse("--join", join);
        final int j = jobs != null ? jobs : LocalRunner.defaultJobs();
        plugins.catalog(); // checks the jars, and makes the loader over them the context class loader
        final Worker w = Worker.start(name, bind, port, members, j, scratch, Thread.currentThread().getContextClassLoader());
        final CountDownLatch down = new CountDownLatch(1);
        w.instance().getLifecycleService().addLifecycleListener(e ->
        {
            if (e.getState() == com.hazelcast.core.LifecycleEvent.LifecycleState.SHUTDOWN)
            {
                down.countDown();
            }
        });
        w.instance().getCluster().addMembershipListener(new com.hazelcast.cluster.MembershipListener()
        {
            @Override
            public void memberAdded(final com.hazelcast.cluster.MembershipEvent e)
            {
                io.err.println("pal worker: " + e.getMember().getAddress() + " joined; cluster of " + e.getMembers().size());
            }

            @Override
            public void memberRemoved(final com.hazelcast.cluster.MembershipEvent e)
            {
                io.err.println("pal worker: " + e.getMember().getAddress() + " left; cluster of " + e.getMembers().size());
            }
        });
        io.out.println("pal worker " + w.address() + ": in a cluster of " + w.clusterSize() + ", " + j +
            " run" + (j == 1 ? "" : "s") + " at once; hunt on it with: pal hunt --cluster " + w.address() + " ...");
        io.out.flush();
        if (!members.isEmpty() && w.clusterSize() == 1)
        {
            w.close();
            throw new UserError("no member answered at " + String.join(",", members));
        }
        down.await();
        return 0;
    }
}
