import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.kafka.tools.ProducerPerformance;

/**
 * Kafka's ProducerPerformance, run twice in one JVM: a warm-up of WARMUP_RECORDS (its summary goes
 * to stderr), then the measured run with the given arguments (its output on stdout). Without the
 * warm-up, a run of a million records measures the JVM's JIT as much as the producer.
 *
 * usage: java -cp 'KAFKA_LIBS/*' bench/WarmProducerPerformance.java WARMUP_RECORDS PRODUCER_PERFORMANCE_ARGS...
 */
public class WarmProducerPerformance {
    public static void main(String[] args) throws Exception {
        int warmup = Integer.parseInt(args[0]);
        String[] measured = Arrays.copyOfRange(args, 1, args.length);
        List<String> warmupArgs = new ArrayList<>(Arrays.asList(measured));
        warmupArgs.set(warmupArgs.indexOf("--num-records") + 1, String.valueOf(warmup));
        java.io.PrintStream out = System.out;
        System.setOut(System.err);
        ProducerPerformance.main(warmupArgs.toArray(new String[0]));
        System.setOut(out);
        ProducerPerformance.main(measured);
    }
}
