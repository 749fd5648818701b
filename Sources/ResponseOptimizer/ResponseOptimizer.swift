// ResponseOptimizer: Hummingbird middleware for compression, ETags, partial responses and streaming.
import Hummingbird
