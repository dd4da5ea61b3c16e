pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                parallel one: { echo '1' }, two: { echo '2' }, failFast: true
            }
        }
    }
}
