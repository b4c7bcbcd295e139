-- wrk script for the BioMuseum benchmark.
--
-- Without WRK_PATHS, wrk sends its one static request (the URL on the command line), as fast as wrk can.
-- With WRK_PATHS="/a /b?x=1 ...", each connection cycles through those paths: mixed traffic.
-- Either way, `done` prints one line, "BENCH_JSON {...}", that bench/load.py parses.

local paths = os.getenv("WRK_PATHS")

if paths and paths ~= "" then
   local requests = {}
   local next_index = 0
   local threads_set_up = 0

   -- Runs in wrk's main Lua state; numbers the threads so each starts at a different place in the list.
   function setup(thread)
      threads_set_up = threads_set_up + 1
      thread:set("thread_number", threads_set_up)
   end

   function init(args)
      for path in paths:gmatch("%S+") do
         requests[#requests + 1] = wrk.format("GET", path)
      end
      next_index = (thread_number * 7) % #requests
   end

   function request()
      next_index = next_index % #requests + 1
      return requests[next_index]
   end
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, '
         .. '"write_errors": %d, "timeout_errors": %d, "http_errors": %d, "latency_mean_us": %.1f, '
         .. '"latency_p50_us": %d, "latency_p90_us": %d, "latency_p99_us": %d, "latency_max_us": %d}\n',
      summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write,
      errors.timeout, errors.status, latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max
   ))
end
