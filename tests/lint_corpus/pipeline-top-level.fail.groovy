timeout(time: 5, unit: 'MINUTES') {
    pipeline {  // <-- pipeline-top-level
        agent any
        stages { stage('a') { steps { echo 'x' } } }
    }
}
